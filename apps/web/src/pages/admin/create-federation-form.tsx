import { useId, useState, type ReactNode } from 'react';
import {
  bytesToBase64,
  createFederationRequestSchema,
  describeIssues,
  FEDERATED_METHODS,
  type CreateFederationRequest,
  type FederationDetail,
  type GlobalTestSource,
  type ReferenceSource,
} from '@facmic/protocol';
import { METHODS } from '@facmic/learning/plain';
import { Field, Notice } from '../../components/ui.tsx';
import { filesFromInput } from '../../lib/folder-input.ts';
import { scanFolder } from '../../lib/folder-reading.ts';
import { suggestClassMapping } from '../../lib/class-mapping.ts';
import type { AdminApi } from './admin-api.ts';

/** The paper's defaults, straight from the protocol's schema. */
const DEFAULTS = createFederationRequestSchema.parse({ name: 'defaults', classNames: ['a', 'b'] });

type ReferenceKind = ReferenceSource['kind'];
type GlobalTestKind = 'none' | GlobalTestSource['kind'];

interface FormState {
  name: string;
  classes: string;
  promptTemplate: string;
  method: (typeof FEDERATED_METHODS)[number];
  rounds: string;
  quorum: string;
  deadline: string;
  localEpochs: string;
  maxSteps: string;
  batchSize: string;
  learningRate: string;
  beta1: string;
  beta2: string;
  epsilon: string;
  weightDecay: string;
  referenceKind: ReferenceKind;
  referenceCount: string;
  referencePath: string;
  referenceFiles: File[];
  testKind: GlobalTestKind;
  testPerClass: string;
  testPath: string;
  testFiles: { file: File; label: string }[];
}

const INITIAL: FormState = {
  name: '',
  classes: '',
  promptTemplate: DEFAULTS.promptTemplate,
  method: DEFAULTS.method,
  rounds: String(DEFAULTS.rounds),
  quorum: String(DEFAULTS.quorum),
  deadline: String(DEFAULTS.roundDeadlineSeconds),
  localEpochs: String(DEFAULTS.training.localEpochs),
  maxSteps: DEFAULTS.training.maxStepsPerRound === null ? '' : String(DEFAULTS.training.maxStepsPerRound),
  batchSize: String(DEFAULTS.training.batchSize),
  learningRate: String(DEFAULTS.training.optimizer.learningRate),
  beta1: String(DEFAULTS.training.optimizer.betas[0]),
  beta2: String(DEFAULTS.training.optimizer.betas[1]),
  epsilon: String(DEFAULTS.training.optimizer.epsilon),
  weightDecay: String(DEFAULTS.training.optimizer.weightDecay),
  referenceKind: DEFAULTS.reference.kind,
  referenceCount: DEFAULTS.reference.kind === 'generated' ? String(DEFAULTS.reference.count) : '64',
  referencePath: '',
  referenceFiles: [],
  testKind: 'none',
  testPerClass: '10',
  testPath: '',
  testFiles: [],
};

async function fileBase64(file: File): Promise<string> {
  return bytesToBase64(new Uint8Array(await file.arrayBuffer()));
}

export function parseClassList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}

const num = (text: string): number => (text.trim() === '' ? Number.NaN : Number(text));

async function buildRequest(form: FormState): Promise<CreateFederationRequest> {
  const reference: ReferenceSource =
    form.referenceKind === 'generated'
      ? { kind: 'generated', count: num(form.referenceCount) }
      : form.referenceKind === 'folder'
        ? { kind: 'folder', path: form.referencePath.trim() }
        : form.referenceKind === 'images'
          ? { kind: 'images', images: await Promise.all(form.referenceFiles.map(async (f) => ({ name: f.name, data: await fileBase64(f) }))) }
          : { kind: 'features', data: form.referenceFiles[0] ? await fileBase64(form.referenceFiles[0]) : '' };
  const globalTest: GlobalTestSource | null =
    form.testKind === 'none'
      ? null
      : form.testKind === 'generated'
        ? { kind: 'generated', perClass: num(form.testPerClass) }
        : form.testKind === 'folder'
          ? { kind: 'folder', path: form.testPath.trim() }
          : form.testKind === 'images'
            ? { kind: 'images', images: await Promise.all(form.testFiles.map(async (f) => ({ name: f.file.name, label: f.label, data: await fileBase64(f.file) }))) }
            : { kind: 'features', data: form.testFiles[0] ? await fileBase64(form.testFiles[0].file) : '' };
  return {
    name: form.name.trim(),
    classNames: parseClassList(form.classes),
    promptTemplate: form.promptTemplate,
    method: form.method,
    rounds: num(form.rounds),
    quorum: num(form.quorum),
    roundDeadlineSeconds: num(form.deadline),
    training: {
      localEpochs: num(form.localEpochs),
      maxStepsPerRound: form.maxSteps.trim() === '' ? null : num(form.maxSteps),
      batchSize: num(form.batchSize),
      optimizer: { name: 'adam', learningRate: num(form.learningRate), betas: [num(form.beta1), num(form.beta2)], epsilon: num(form.epsilon), weightDecay: num(form.weightDecay) },
    },
    reference,
    globalTest,
  };
}

export function CreateFederationForm({ api, onCreated, onCancel }: { api: AdminApi; onCreated: (detail: FederationDetail) => void; onCancel: () => void }) {
  const id = useId();
  const [form, setForm] = useState<FormState>(INITIAL);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
  };
  const classes = parseClassList(form.classes);

  const submit = async (event: React.SyntheticEvent) => {
    event.preventDefault();
    setProblem(null);
    setBusy(true);
    try {
      const request = await buildRequest(form);
      const checked = createFederationRequestSchema.safeParse(request);
      if (!checked.success) {
        setProblem(describeIssues(checked.error, 5));
        return;
      }
      onCreated(await api.createFederation(request));
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  const text = (key: keyof FormState, label: string, help: ReactNode, props: React.InputHTMLAttributes<HTMLInputElement> = {}) => (
    <Field label={label} help={help} htmlFor={`${id}-${key}`}>
      <input
        id={`${id}-${key}`}
        type="text"
        value={form[key] as string}
        onChange={(e) => {
          set(key, e.target.value as never);
        }}
        {...props}
      />
    </Field>
  );

  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-title`} data-testid="create-federation-form" noValidate>
      <h2 id={`${id}-title`}>New federation</h2>
      <p className="small muted">Fields start at the paper’s settings (FACMIC, MICCAI 2024). Every setting says what it does.</p>
      {problem !== null && (
        <Notice tone="error" title="The federation was not created">
          <p>{problem}</p>
        </Notice>
      )}
      <fieldset>
        <legend>What to learn</legend>
        {text('name', 'Name', 'Shown to hospitals and on this dashboard.', { required: true, placeholder: 'Brain tumour MRI' })}
        <div className="field">
          <label htmlFor={`${id}-classes`}>Classes</label>
          <span id={`${id}-classes-help`} className="field-help">
            One per line (or separated by commas). Hospitals map their folders onto these names.
          </span>
          <textarea
            id={`${id}-classes`}
            aria-describedby={`${id}-classes-help`}
            value={form.classes}
            onChange={(e) => {
              set('classes', e.target.value);
            }}
            placeholder={'glioma\nmeningioma\nno tumor\npituitary'}
            required
          />
          {classes.length > 0 && <span className="field-help">{classes.length} classes: {classes.join(' · ')}</span>}
        </div>
        {text('promptTemplate', 'Class description', 'How CLIP’s text model reads each class; {class} is replaced by the class name.')}
        <div className="field">
          <label htmlFor={`${id}-method`}>Method</label>
          <span id={`${id}-method-help`} className="field-help">
            {METHODS[form.method].description}.
          </span>
          <select
            id={`${id}-method`}
            aria-describedby={`${id}-method-help`}
            value={form.method}
            onChange={(e) => {
              set('method', e.target.value as FormState['method']);
            }}
          >
            {FEDERATED_METHODS.map((m) => (
              <option key={m} value={m}>
                {METHODS[m].label}
              </option>
            ))}
          </select>
        </div>
      </fieldset>
      <fieldset>
        <legend>Rounds</legend>
        <div className="form-grid">
          {text('rounds', 'Rounds', 'How many times hospitals train and the coordinator averages.', { inputMode: 'numeric' })}
          {text('quorum', 'Hospitals per round', 'A round starts with this many ready hospitals and closes once this many sent their update.', { inputMode: 'numeric' })}
          {text('deadline', 'Round deadline (seconds)', 'How long a round waits for updates; it then closes with those received.', { inputMode: 'numeric' })}
        </div>
      </fieldset>
      <details>
        <summary>Local training (paper defaults)</summary>
        <div className="form-grid" style={{ marginTop: '0.75rem' }}>
          {text('localEpochs', 'Passes per round', 'Epochs over each hospital’s training images per round.', { inputMode: 'numeric' })}
          {text('maxSteps', 'Step limit per round', 'Optional cap on training steps per round; empty runs all passes.', { inputMode: 'numeric', placeholder: 'no limit' })}
          {text('batchSize', 'Batch size', 'Images per training step.', { inputMode: 'numeric' })}
          {text('learningRate', 'Learning rate', 'Adam step size.', { inputMode: 'decimal' })}
          {text('beta1', 'Adam β1', 'Momentum of the gradient average.', { inputMode: 'decimal' })}
          {text('beta2', 'Adam β2', 'Momentum of the squared-gradient average.', { inputMode: 'decimal' })}
          {text('epsilon', 'Adam ε', 'Keeps Adam’s division stable.', { inputMode: 'decimal' })}
          {text('weightDecay', 'Weight decay', 'L2 penalty added to the gradient.', { inputMode: 'decimal' })}
        </div>
      </details>
      <fieldset>
        <legend>Reference set</legend>
        <p className="small muted">
          Unlabelled images shared with every hospital as features, for FACMIC’s domain adaptation (LMMD). Use images you may share, never a hospital’s patients.
        </p>
        <SourceChoice
          name={`${id}-ref`}
          value={form.referenceKind}
          onChange={(v) => {
            set('referenceKind', v);
          }}
          options={[
            ['generated', 'Generated images (demo)'],
            ['folder', 'A folder on the coordinator’s computer'],
            ['images', 'Upload images from this computer'],
            ['features', 'Upload a features file'],
          ]}
        />
        {form.referenceKind === 'generated' && text('referenceCount', 'How many', 'Generated pattern images, for demos and tests.', { inputMode: 'numeric' })}
        {form.referenceKind === 'folder' && text('referencePath', 'Folder path', 'A folder of images on the machine running the coordinator.', { placeholder: '/data/reference' })}
        {(form.referenceKind === 'images' || form.referenceKind === 'features') && (
          <div className="field">
            <label htmlFor={`${id}-ref-files`}>{form.referenceKind === 'images' ? 'Images' : 'Features file'}</label>
            <span id={`${id}-ref-files-help`} className="field-help">
              {form.referenceKind === 'images' ? 'PNG or JPEG files; the coordinator encodes them with the federation’s model.' : 'A tensor file holding “features” [N, D].'}
            </span>
            <input
              id={`${id}-ref-files`}
              aria-describedby={`${id}-ref-files-help`}
              type="file"
              multiple={form.referenceKind === 'images'}
              accept={form.referenceKind === 'images' ? 'image/*' : undefined}
              onChange={(e) => {
                set('referenceFiles', Array.from(e.currentTarget.files ?? []));
              }}
            />
            {form.referenceFiles.length > 0 && <span className="field-help">{form.referenceFiles.length} file(s) chosen</span>}
          </div>
        )}
      </fieldset>
      <fieldset>
        <legend>Global test set (optional)</legend>
        <p className="small muted">Labelled images the coordinator uses to score every new global model; the dashboard then shows the global curve.</p>
        <SourceChoice
          name={`${id}-test`}
          value={form.testKind}
          onChange={(v) => {
            set('testKind', v);
          }}
          options={[
            ['none', 'None'],
            ['generated', 'Generated images (demo)'],
            ['folder', 'A folder on the coordinator’s computer (one sub-folder per class)'],
            ['images', 'Upload a folder from this computer (one sub-folder per class)'],
            ['features', 'Upload a features file'],
          ]}
        />
        {form.testKind === 'generated' && text('testPerClass', 'Images per class', 'Generated pattern images, for demos and tests.', { inputMode: 'numeric' })}
        {form.testKind === 'folder' && text('testPath', 'Folder path', 'Sub-folders named after the classes, on the machine running the coordinator.', { placeholder: '/data/global-test' })}
        {form.testKind === 'images' && (
          <TestFolderInput
            id={`${id}-test-files`}
            classes={classes}
            onFiles={(files) => {
              set('testFiles', files);
            }}
            count={form.testFiles.length}
          />
        )}
        {form.testKind === 'features' && (
          <div className="field">
            <label htmlFor={`${id}-test-features`}>Features file</label>
            <span id={`${id}-test-features-help`} className="field-help">
              A tensor file holding “features” [N, D] and “labels” [N].
            </span>
            <input
              id={`${id}-test-features`}
              aria-describedby={`${id}-test-features-help`}
              type="file"
              onChange={(e) => {
                const file = e.currentTarget.files?.[0];
                set('testFiles', file ? [{ file, label: '' }] : []);
              }}
            />
          </div>
        )}
      </fieldset>
      <div className="row">
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create federation'}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function SourceChoice<T extends string>({ name, value, onChange, options }: { name: string; value: T; onChange: (value: T) => void; options: readonly (readonly [T, string])[] }) {
  return (
    <div className="field" role="radiogroup">
      {options.map(([v, label]) => (
        <label key={v} className="check">
          <input
            type="radio"
            name={name}
            value={v}
            checked={value === v}
            onChange={() => {
              onChange(v);
            }}
          />
          {label}
        </label>
      ))}
    </div>
  );
}

function TestFolderInput({ id, classes, onFiles, count }: { id: string; classes: readonly string[]; onFiles: (files: { file: File; label: string }[]) => void; count: number }) {
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <div className="field">
      <label htmlFor={id}>Folder</label>
      <span id={`${id}-help`} className="field-help">
        Sub-folders are matched to the classes by name.
      </span>
      <input
        id={id}
        aria-describedby={`${id}-help`}
        type="file"
        multiple
        ref={(el) => {
          el?.setAttribute('webkitdirectory', '');
        }}
        onChange={(e) => {
          const scan = scanFolder(filesFromInput(e.currentTarget.files ?? []), classes);
          const mapping = suggestClassMapping(scan.folders.map((f) => f.name), classes);
          const files = scan.folders.flatMap((folder) => {
            const label = mapping[folder.name];
            return label === null || label === undefined ? [] : folder.files.map((f) => ({ file: f.file, label: classes[label] ?? '' }));
          });
          const unmatched = scan.folders.filter((f) => mapping[f.name] === null).map((f) => f.name);
          setProblem(unmatched.length > 0 ? `Left out folders that match no class: ${unmatched.join(', ')}.` : null);
          onFiles(files);
        }}
      />
      {count > 0 && <span className="field-help">{count} labelled images chosen</span>}
      {problem !== null && <span className="field-help">{problem}</span>}
    </div>
  );
}
