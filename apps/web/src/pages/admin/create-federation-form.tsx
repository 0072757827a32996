import { useId, useRef, useState, type ReactNode } from 'react';
import { createFederationRequestSchema, FEDERATED_METHODS, type FederationDetail } from '@facmic/protocol';
import { DEFAULT_BATCH_SIZE, DEFAULT_STEPS_PER_ROUND, METHODS } from '@facmic/learning/plain';
import { Field, FieldError } from '../../components/ui.tsx';
import { filesFromInput } from '../../lib/folder-input.ts';
import { scanFolder } from '../../lib/folder-reading.ts';
import { suggestClassMapping } from '../../lib/class-mapping.ts';
import { adminProblemSentence } from '../../lib/error-words.ts';
import { countOf } from '../../lib/format.ts';
import type { AdminApi } from './admin-api.ts';
import {
  buildRequest,
  checkForm,
  ENCODER_DTYPE_CHOICES,
  errorsFromRefusal,
  fieldOfPath,
  FIELD_LABELS,
  FORM_FIELDS,
  INITIAL_FORM,
  parseClassList,
  TRAINING_FIELDS,
  type FieldErrors,
  type FormField,
  type FormState,
} from './federation-form.ts';

export function CreateFederationForm({ api, onCreated, onCancel }: { api: AdminApi; onCreated: (detail: FederationDetail) => void; onCancel: () => void }) {
  const id = useId();
  const formRef = useRef<HTMLFormElement>(null);
  const [form, setForm] = useState<FormState>(INITIAL_FORM);
  const [errors, setErrors] = useState<FieldErrors>({});
  /** What went wrong that names no field (the coordinator unreachable, an upload too large...), at the button. */
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [trainingOpen, setTrainingOpen] = useState(false);
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    // Editing a field clears its error; the next submit checks it again.
    if ((FORM_FIELDS as readonly string[]).includes(key)) setErrors((e) => ({ ...e, [key]: undefined }));
  };
  const classes = parseClassList(form.classes);
  const fieldId = (field: FormField) => `${id}-${field}`;

  /** Shows the errors and moves the focus to the first field to fix (opening the training settings if needed). */
  const showErrors = (found: FieldErrors) => {
    setErrors(found);
    const first = FORM_FIELDS.find((field) => found[field] !== undefined);
    if (first === undefined) return;
    if (TRAINING_FIELDS.includes(first)) setTrainingOpen(true);
    requestAnimationFrame(() => {
      const element = formRef.current?.querySelector<HTMLElement>(`#${CSS.escape(fieldId(first))}`);
      element?.focus();
      element?.scrollIntoView({ block: 'center' });
    });
  };

  const submit = async (event: React.SyntheticEvent) => {
    event.preventDefault();
    setProblem(null);
    const found = checkForm(form);
    if (Object.keys(found).length > 0) {
      showErrors(found);
      return;
    }
    setBusy(true);
    try {
      const request = await buildRequest(form);
      // The schema is the coordinator's: anything the checks above missed is attached to its field all the same.
      const checked = createFederationRequestSchema.safeParse(request);
      if (!checked.success) {
        const fromSchema: FieldErrors = {};
        for (const issue of checked.error.issues) {
          const field = fieldOfPath(issue.path, form);
          if (field !== null) fromSchema[field] ??= 'This value is not accepted; check it against the help line.';
        }
        if (Object.keys(fromSchema).length > 0) showErrors(fromSchema);
        else setProblem('Some settings are not accepted; check the fields against their help lines.');
        return;
      }
      onCreated(await api.createFederation(request));
    } catch (error) {
      const refusal = error instanceof Error && 'code' in error && error.code === 'BAD_REQUEST' ? errorsFromRefusal(error.message, form) : null;
      if (refusal && Object.keys(refusal.fields).length > 0) {
        showErrors(refusal.fields);
        setProblem(refusal.rest);
      } else setProblem(adminProblemSentence(error));
    } finally {
      setBusy(false);
    }
  };

  const text = (key: FormField & keyof FormState, label: string, help: ReactNode, props: React.InputHTMLAttributes<HTMLInputElement> = {}) => (
    <Field label={label} help={help} htmlFor={fieldId(key)} error={errors[key]}>
      <input
        id={fieldId(key)}
        type="text"
        value={form[key] as string}
        onChange={(e) => {
          set(key, e.target.value as never);
        }}
        {...props}
      />
    </Field>
  );
  const wrong = FORM_FIELDS.filter((field) => errors[field] !== undefined);

  return (
    <form ref={formRef} className="card" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-title`} data-testid="create-federation-form" noValidate>
      <h2 id={`${id}-title`}>New federation</h2>
      <p className="small muted">Fields start at the paper’s settings (FACMIC, MICCAI 2024). Every setting says what it does.</p>
      <fieldset>
        <legend>What to learn</legend>
        {text('name', 'Name', 'Shown to hospitals and on this dashboard.', { required: true, placeholder: 'Brain tumour MRI' })}
        <Field label="Classes" htmlFor={fieldId('classes')} help="One per line (or separated by commas). Hospitals map their folders onto these names." error={errors.classes}>
          <textarea
            id={fieldId('classes')}
            value={form.classes}
            onChange={(e) => {
              set('classes', e.target.value);
            }}
            placeholder={'glioma\nmeningioma\nno tumor\npituitary'}
            required
          />
        </Field>
        {classes.length > 0 && (
          <p className="field-help" style={{ marginTop: '-0.6rem' }}>
            {countOf(classes.length, 'class', 'classes')}: {classes.join(' · ')}
          </p>
        )}
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
        <div className="field">
          <label htmlFor={`${id}-dtype`}>Encoder weights</label>
          <span id={`${id}-dtype-help`} className="field-help">
            Every hospital downloads CLIP’s image model once and runs it on its own computer. Smaller weights download and run faster;
            all hospitals of a federation use the same ones, so their features stay comparable.
          </span>
          <select
            id={`${id}-dtype`}
            aria-describedby={`${id}-dtype-help`}
            value={form.encoderDtype}
            onChange={(e) => {
              set('encoderDtype', e.target.value as FormState['encoderDtype']);
            }}
          >
            {ENCODER_DTYPE_CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
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
          {text(
            'minRound',
            'Shortest round (seconds)',
            '0: a round closes as soon as every update is in. More: it stays open at least this long, so people can follow each round (demos use 6).',
            { inputMode: 'numeric' },
          )}
        </div>
      </fieldset>
      <details
        open={trainingOpen}
        onToggle={(e) => {
          setTrainingOpen(e.currentTarget.open);
        }}
      >
        <summary>Local training (paper defaults)</summary>
        <div className="form-grid" style={{ marginTop: '0.75rem' }}>
          {text('stepsPerRound', 'Steps per round', `Each step trains on one batch of a hospital’s images, drawn from its reshuffled training images; the paper: ${DEFAULT_STEPS_PER_ROUND} steps of ${DEFAULT_BATCH_SIZE} images a round, whatever the hospital’s size.`, { inputMode: 'numeric', placeholder: 'by passes' })}
          {text('localEpochs', 'Passes per round', 'Optional: end a round after this many passes over each hospital’s training images (with steps too, whichever comes first).', { inputMode: 'numeric', placeholder: 'by steps' })}
          {text('batchSize', 'Batch size', 'Images per training step.', { inputMode: 'numeric' })}
          {text('learningRate', 'Learning rate', 'Adam step size.', { inputMode: 'decimal' })}
          {text('beta1', 'Adam β1', 'Momentum of the gradient average.', { inputMode: 'decimal' })}
          {text('beta2', 'Adam β2', 'Momentum of the squared-gradient average.', { inputMode: 'decimal' })}
          {text('epsilon', 'Adam ε', 'Keeps Adam’s division stable.', { inputMode: 'decimal' })}
          {text('weightDecay', 'Weight decay', 'L2 penalty added to the gradient.', { inputMode: 'decimal' })}
        </div>
      </details>
      <fieldset data-testid="privacy-settings">
        <legend>Privacy</legend>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={form.secureAggregation}
            onChange={(e) => {
              set('secureAggregation', e.target.checked);
            }}
          />{' '}
          Secure aggregation: the coordinator sees only the sum of the hospitals’ updates, never one hospital’s
        </label>
        {form.secureAggregation &&
          text(
            'threshold',
            'Fewest hospitals in a sum (t)',
            'A round’s sum must hold at least this many hospitals, and this many must still answer to finish it: if one drops out after the keys are exchanged, the others let the coordinator remove its masks. Empty: more than half of the round’s hospitals (a smaller value is raised to that, so two groups of hospitals can never each unmask one).',
            { inputMode: 'numeric', placeholder: 'more than half' },
          )}
        <label className="checkbox">
          <input
            type="checkbox"
            checked={form.dpOn}
            onChange={(e) => {
              set('dpOn', e.target.checked);
            }}
          />{' '}
          Differential privacy: a stated limit on what the published models reveal about any one hospital
        </label>
        {form.dpOn && (
          <div className="form-grid">
            {text('dpEpsilon', 'Privacy budget ε (whole federation)', 'Smaller is more private and noisier; 1 to 10 is common. The coordinator stops the federation rather than spend more.', { inputMode: 'decimal' })}
            {text('dpDelta', 'Privacy δ', 'The small chance the guarantee does not hold; 0.00001 is common.', { inputMode: 'decimal' })}
            {text('dpClip', 'Update size limit', 'Each hospital’s change to the model is scaled down to at most this size (L2 norm) before noise is added.', { inputMode: 'decimal' })}
            {form.secureAggregation && (
              <div className="field">
                <label htmlFor={`${id}-noise`}>Who adds the noise</label>
                <select
                  id={`${id}-noise`}
                  value={form.dpNoise}
                  onChange={(e) => {
                    set('dpNoise', e.target.value as FormState['dpNoise']);
                  }}
                >
                  <option value="central">the coordinator (central)</option>
                  <option value="distributed">every hospital its share (distributed: nobody sees a noise-free sum)</option>
                </select>
              </div>
            )}
          </div>
        )}
        {!form.secureAggregation && (
          <div className="field">
            <label htmlFor={`${id}-encoding`}>Update size on the wire</label>
            <select
              id={`${id}-encoding`}
              value={form.updateEncoding}
              onChange={(e) => {
                set('updateEncoding', e.target.value as FormState['updateEncoding']);
              }}
            >
              <option value="float32">32-bit (exact)</option>
              <option value="float16">16-bit (half the upload)</option>
              <option value="int8">8-bit change from the round’s model (a quarter of the upload, rounded at random)</option>
            </select>
          </div>
        )}
      </fieldset>
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
          <Field
            label={form.referenceKind === 'images' ? 'Images' : 'Features file'}
            htmlFor={fieldId('referenceFiles')}
            help={
              <>
                {form.referenceKind === 'images' ? 'PNG or JPEG files; the coordinator encodes them with the federation’s model.' : 'A tensor file holding “features” [N, D].'}
                {form.referenceFiles.length > 0 && ` ${countOf(form.referenceFiles.length, 'file')} chosen.`}
              </>
            }
            error={errors.referenceFiles}
          >
            <input
              id={fieldId('referenceFiles')}
              type="file"
              multiple={form.referenceKind === 'images'}
              accept={form.referenceKind === 'images' ? 'image/*' : undefined}
              onChange={(e) => {
                set('referenceFiles', Array.from(e.currentTarget.files ?? []));
              }}
            />
          </Field>
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
            id={fieldId('testFiles')}
            classes={classes}
            onFiles={(files) => {
              set('testFiles', files);
            }}
            count={form.testFiles.length}
            error={errors.testFiles}
          />
        )}
        {form.testKind === 'features' && (
          <Field label="Features file" htmlFor={fieldId('testFiles')} help="A tensor file holding “features” [N, D] and “labels” [N]." error={errors.testFiles}>
            <input
              id={fieldId('testFiles')}
              type="file"
              onChange={(e) => {
                const file = e.currentTarget.files?.[0];
                set('testFiles', file ? [{ file, label: '' }] : []);
              }}
            />
          </Field>
        )}
      </fieldset>
      <div className="form-actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create federation'}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {wrong.length > 0 && (
        <FieldError>
          {wrong.length === 1 ? `One field needs attention: ${FIELD_LABELS[wrong[0] ?? 'name']}.` : `${wrong.length} fields need attention: ${wrong.map((f) => FIELD_LABELS[f]).join(', ')}.`}
        </FieldError>
      )}
      {problem !== null && <FieldError>The federation was not created. {problem}</FieldError>}
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

function TestFolderInput({
  id,
  classes,
  onFiles,
  count,
  error,
}: {
  id: string;
  classes: readonly string[];
  onFiles: (files: { file: File; label: string }[]) => void;
  count: number;
  error: string | undefined;
}) {
  const [problem, setProblem] = useState<string | null>(null);
  const help = (
    <>
      Sub-folders are matched to the classes by name.{count > 0 && ` ${countOf(count, 'labelled image')} chosen.`}
      {problem !== null && ` ${problem}`}
    </>
  );
  return (
    <Field label="Folder" htmlFor={id} help={help} error={error}>
      <input
        id={id}
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
    </Field>
  );
}
