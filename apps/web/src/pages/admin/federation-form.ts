/**
 * The create-federation form as plain data: its fields, the paper's defaults, the request it builds, and what is
 * wrong with each field in a sentence an admin can act on (checked here before sending, and the coordinator's
 * refusals attached back to their field).
 */
import {
  bytesToBase64,
  createFederationRequestSchema,
  MAX_MIN_ROUND_SECONDS,
  PROMPT_CLASS_PLACEHOLDER,
  type CreateFederationRequest,
  type EncoderDtype,
  type FEDERATED_METHODS,
  type GlobalTestSource,
  type ReferenceSource,
  type UpdateEncoding,
} from '@facmic/protocol';
import { formatCount } from '../../lib/format.ts';

/** The paper's defaults, straight from the protocol's schema. */
export const DEFAULTS = createFederationRequestSchema.parse({ name: 'defaults', classNames: ['a', 'b'] });

/** What each encoder dtype means for a hospital (the sizes are CLIP ViT-B/16's vision tower). */
export const ENCODER_DTYPE_CHOICES: readonly { value: '' | EncoderDtype; label: string }[] = [
  { value: '', label: 'Recommended for the model (q8 where the model has it)' },
  { value: 'q8', label: 'q8: 89 MB download, 1.5-2x as fast as fp32 on a CPU, features at cosine 0.9999 to fp32, about 0.8 GB of memory in a hospital tab' },
  { value: 'fp16', label: 'fp16: 173 MB, fast on a GPU (WebGPU), slower than fp32 on CPUs' },
  { value: 'fp32', label: 'fp32: 345 MB, the exact weights, slowest download and encoding, about 1.9 GB of memory in a hospital tab' },
];

export type ReferenceKind = ReferenceSource['kind'];
export type GlobalTestKind = 'none' | GlobalTestSource['kind'];

export interface FormState {
  name: string;
  classes: string;
  promptTemplate: string;
  method: (typeof FEDERATED_METHODS)[number];
  /** '' = the coordinator's recommended dtype for its model. */
  encoderDtype: '' | EncoderDtype;
  rounds: string;
  quorum: string;
  deadline: string;
  minRound: string;
  stepsPerRound: string;
  localEpochs: string;
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
  /** Privacy (`privacy` of the request). */
  secureAggregation: boolean;
  /** '' = the default: more than half of the round's hospitals. */
  threshold: string;
  dpOn: boolean;
  dpEpsilon: string;
  dpDelta: string;
  dpClip: string;
  dpNoise: 'central' | 'distributed';
  updateEncoding: UpdateEncoding;
}

/** Fields that can be wrong, in the order they appear on the form (the first wrong one gets the focus). */
export const FORM_FIELDS = [
  'name',
  'classes',
  'promptTemplate',
  'rounds',
  'quorum',
  'deadline',
  'minRound',
  'stepsPerRound',
  'localEpochs',
  'batchSize',
  'learningRate',
  'beta1',
  'beta2',
  'epsilon',
  'weightDecay',
  'referenceCount',
  'referencePath',
  'referenceFiles',
  'testPerClass',
  'testPath',
  'testFiles',
  'threshold',
  'dpEpsilon',
  'dpDelta',
  'dpClip',
] as const;
export type FormField = (typeof FORM_FIELDS)[number];
export type FieldErrors = Partial<Record<FormField, string>>;

/** Fields under the "Local training" disclosure (opened when one of them is wrong). */
export const TRAINING_FIELDS: readonly FormField[] = ['stepsPerRound', 'localEpochs', 'batchSize', 'learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay'];

/** The label each field has on the form, to name it in a summary. */
export const FIELD_LABELS: Readonly<Record<FormField, string>> = {
  name: 'Name',
  classes: 'Classes',
  promptTemplate: 'Class description',
  rounds: 'Rounds',
  quorum: 'Hospitals per round',
  deadline: 'Round deadline',
  minRound: 'Shortest round',
  stepsPerRound: 'Steps per round',
  localEpochs: 'Passes per round',
  batchSize: 'Batch size',
  learningRate: 'Learning rate',
  beta1: 'Adam β1',
  beta2: 'Adam β2',
  epsilon: 'Adam ε',
  weightDecay: 'Weight decay',
  referenceCount: 'Reference images',
  referencePath: 'Reference folder',
  referenceFiles: 'Reference files',
  testPerClass: 'Test images per class',
  testPath: 'Test folder',
  testFiles: 'Test files',
  threshold: 'Fewest hospitals in a sum (t)',
  dpEpsilon: 'Privacy budget ε',
  dpDelta: 'Privacy δ',
  dpClip: 'Update size limit',
};

export const INITIAL_FORM: FormState = {
  name: '',
  classes: '',
  promptTemplate: DEFAULTS.promptTemplate,
  method: DEFAULTS.method,
  encoderDtype: '',
  rounds: String(DEFAULTS.rounds),
  quorum: String(DEFAULTS.quorum),
  deadline: String(DEFAULTS.roundDeadlineSeconds),
  minRound: String(DEFAULTS.minRoundSeconds),
  stepsPerRound: DEFAULTS.training.stepsPerRound === null ? '' : String(DEFAULTS.training.stepsPerRound),
  localEpochs: DEFAULTS.training.localEpochs === null ? '' : String(DEFAULTS.training.localEpochs),
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
  secureAggregation: false,
  threshold: '',
  dpOn: false,
  dpEpsilon: '8',
  dpDelta: '0.00001',
  dpClip: '0.05',
  dpNoise: 'central',
  updateEncoding: 'float32',
};

export function parseClassList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}

const num = (text: string): number => (text.trim() === '' ? Number.NaN : Number(text));

function wholeNumber(text: string, min: number, max: number, sentence: string): string | null {
  const value = num(text);
  return Number.isInteger(value) && value >= min && value <= max ? null : sentence;
}

function decimal(text: string, ok: (value: number) => boolean, sentence: string): string | null {
  const value = num(text);
  return Number.isFinite(value) && ok(value) ? null : sentence;
}

/** What is wrong with each field, in words (empty: the form can be sent). */
export function checkForm(form: FormState): FieldErrors {
  const errors: FieldErrors = {};
  const set = (field: FormField, problem: string | null) => {
    if (problem !== null) errors[field] = problem;
  };
  const name = form.name.trim();
  set('name', name === '' ? 'Give the federation a name: hospitals see it on their page.' : name.length > 100 ? 'Keep the name to 100 characters.' : null);
  const classes = parseClassList(form.classes);
  const twice = classes.find((c, i) => classes.indexOf(c) !== i);
  const tooLong = classes.find((c) => c.length > 100);
  set(
    'classes',
    classes.length < 2
      ? 'List at least two classes, one per line (for example glioma and pituitary).'
      : twice !== undefined
        ? `“${twice}” is listed twice: list each class once.`
        : tooLong !== undefined
          ? 'Keep each class name to 100 characters.'
          : classes.length > 1000
            ? 'A federation has at most 1,000 classes.'
            : null,
  );
  set(
    'promptTemplate',
    !form.promptTemplate.includes(PROMPT_CLASS_PLACEHOLDER)
      ? `Keep ${PROMPT_CLASS_PLACEHOLDER} in the description: it is replaced by each class name.`
      : form.promptTemplate.length > 300
        ? 'Keep the description to 300 characters.'
        : null,
  );
  set('rounds', wholeNumber(form.rounds, 1, 10_000, 'Give a whole number of rounds, from 1 to 10,000.'));
  set('quorum', wholeNumber(form.quorum, 1, 10_000, 'Give a whole number of hospitals, at least 1.'));
  const week = 7 * 24 * 3600;
  set('deadline', wholeNumber(form.deadline, 1, week, `Give a whole number of seconds, from 1 to ${formatCount(week)} (a week).`));
  const minRound = wholeNumber(form.minRound, 0, MAX_MIN_ROUND_SECONDS, `Give a whole number of seconds, from 0 (no pacing) to ${formatCount(MAX_MIN_ROUND_SECONDS)}.`);
  set('minRound', minRound ?? (errors.deadline === undefined && num(form.minRound) >= num(form.deadline) ? `Make the shortest round shorter than the round deadline (${form.deadline.trim()} s).` : null));
  const noSteps = form.stepsPerRound.trim() === '';
  const noPasses = form.localEpochs.trim() === '';
  set('stepsPerRound', noSteps ? (noPasses ? 'Give a number of steps (the paper uses 199), or a number of passes below.' : null) : wholeNumber(form.stepsPerRound, 1, 1_000_000, 'Give a whole number of steps, at least 1 (the paper uses 199), or leave it empty to train by passes.'));
  set('localEpochs', noPasses ? null : wholeNumber(form.localEpochs, 1, 1000, 'Leave it empty to train by steps, or give a whole number of passes, from 1 to 1,000.'));
  set('batchSize', wholeNumber(form.batchSize, 2, 4096, 'Give a whole number of images per step, from 2 to 4,096.'));
  set('learningRate', decimal(form.learningRate, (v) => v > 0 && v <= 1, 'Give a number above 0 and at most 1 (the paper uses 0.00005).'));
  set('beta1', decimal(form.beta1, (v) => v >= 0 && v < 1, 'Give a number from 0 up to, but not including, 1 (the paper uses 0.9).'));
  set('beta2', decimal(form.beta2, (v) => v >= 0 && v < 1, 'Give a number from 0 up to, but not including, 1 (the paper uses 0.98).'));
  set('epsilon', decimal(form.epsilon, (v) => v > 0 && v <= 1, 'Give a small number above 0 (the paper uses 0.000001).'));
  set('weightDecay', decimal(form.weightDecay, (v) => v >= 0 && v <= 1, 'Give a number from 0 to 1 (the paper uses 0.02).'));
  if (form.referenceKind === 'generated') set('referenceCount', wholeNumber(form.referenceCount, 1, 10_000, 'Give a whole number of images, from 1 to 10,000.'));
  if (form.referenceKind === 'folder') set('referencePath', form.referencePath.trim() === '' ? 'Give the folder’s path on the coordinator’s computer.' : null);
  if (form.referenceKind === 'images') set('referenceFiles', form.referenceFiles.length === 0 ? 'Choose at least one image.' : null);
  if (form.referenceKind === 'features') set('referenceFiles', form.referenceFiles.length === 0 ? 'Choose the features file.' : null);
  if (form.testKind === 'generated') set('testPerClass', wholeNumber(form.testPerClass, 1, 1000, 'Give a whole number of images per class, from 1 to 1,000.'));
  if (form.testKind === 'folder') set('testPath', form.testPath.trim() === '' ? 'Give the folder’s path on the coordinator’s computer.' : null);
  if (form.testKind === 'images') set('testFiles', form.testFiles.length === 0 ? 'Choose a folder with one sub-folder per class.' : null);
  if (form.testKind === 'features') set('testFiles', form.testFiles.length === 0 ? 'Choose the features file.' : null);
  if (form.secureAggregation && form.threshold.trim() !== '') set('threshold', wholeNumber(form.threshold, 2, 100, 'Leave it empty for “more than half”, or give a whole number of hospitals from 2 to 100.'));
  if (form.dpOn) {
    set('dpEpsilon', decimal(form.dpEpsilon, (v) => v > 0 && v <= 1000, 'Give a number above 0 (smaller is more private; 1 to 10 is common).'));
    set('dpDelta', decimal(form.dpDelta, (v) => v > 0 && v < 1, 'Give a small number above 0 and below 1 (0.00001 is common).'));
    set('dpClip', decimal(form.dpClip, (v) => v > 0 && v <= 1e6, 'Give a number above 0: the largest size of one hospital’s change to the model.'));
  }
  return errors;
}

/** The form field a request path names (`training.batchSize`, `reference.count`, `classNames.2`), if any. */
export function fieldOfPath(path: readonly PropertyKey[], form: Pick<FormState, 'referenceKind' | 'testKind'>): FormField | null {
  const [first, second] = path.map(String);
  switch (first) {
    case 'name':
      return 'name';
    case 'classNames':
      return 'classes';
    case 'promptTemplate':
      return 'promptTemplate';
    case 'rounds':
    case 'quorum':
      return first;
    case 'roundDeadlineSeconds':
      return 'deadline';
    case 'minRoundSeconds':
      return 'minRound';
    case 'training':
      return second === 'localEpochs' ? 'localEpochs' : second === 'stepsPerRound' ? 'stepsPerRound' : second === 'batchSize' ? 'batchSize' : second === 'optimizer' ? optimizerField(path) : null;
    case 'reference':
      return form.referenceKind === 'generated' ? 'referenceCount' : form.referenceKind === 'folder' ? 'referencePath' : 'referenceFiles';
    case 'privacy':
      return path.map(String).includes('threshold') ? 'threshold' : path.map(String).includes('epsilon') ? 'dpEpsilon' : path.map(String).includes('delta') ? 'dpDelta' : path.map(String).includes('clipNorm') ? 'dpClip' : null;
    case 'globalTest':
      return form.testKind === 'generated' ? 'testPerClass' : form.testKind === 'folder' ? 'testPath' : form.testKind === 'none' ? null : 'testFiles';
    default:
      return null;
  }
}

function optimizerField(path: readonly PropertyKey[]): FormField | null {
  const [, , key, index] = path.map(String);
  if (key === 'learningRate') return 'learningRate';
  if (key === 'epsilon') return 'epsilon';
  if (key === 'weightDecay') return 'weightDecay';
  if (key === 'betas') return index === '1' ? 'beta2' : 'beta1';
  return null;
}

/**
 * The coordinator's refusal (`BAD_REQUEST` messages read `path: what; path: what`) attached to the fields it names;
 * what names no field stays for the form as a whole.
 */
export function errorsFromRefusal(message: string, form: Pick<FormState, 'referenceKind' | 'testKind'>): { fields: FieldErrors; rest: string | null } {
  const fields: FieldErrors = {};
  const rest: string[] = [];
  for (const part of message.split(/;\s*/)) {
    const match = /^([A-Za-z0-9_.]+):\s*(.+)$/.exec(part.trim());
    const field = match ? fieldOfPath((match[1] ?? '').split('.'), form) : null;
    if (match && field !== null) fields[field] = `The coordinator refused this: ${match[2] ?? ''}.`;
    else if (part.trim() !== '') rest.push(part.trim());
  }
  return { fields, rest: rest.length > 0 ? rest.join('; ') : null };
}

async function fileBase64(file: File): Promise<string> {
  return bytesToBase64(new Uint8Array(await file.arrayBuffer()));
}

/** The request the form sends (uploaded files read and base64-encoded). */
export async function buildRequest(form: FormState): Promise<CreateFederationRequest> {
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
    minRoundSeconds: num(form.minRound),
    ...(form.encoderDtype !== '' ? { encoderDtype: form.encoderDtype } : {}),
    training: {
      stepsPerRound: form.stepsPerRound.trim() === '' ? null : num(form.stepsPerRound),
      localEpochs: form.localEpochs.trim() === '' ? null : num(form.localEpochs),
      batchSize: num(form.batchSize),
      optimizer: { name: 'adam', learningRate: num(form.learningRate), betas: [num(form.beta1), num(form.beta2)], epsilon: num(form.epsilon), weightDecay: num(form.weightDecay) },
    },
    reference,
    globalTest,
    privacy: {
      secureAggregation: { enabled: form.secureAggregation, threshold: form.secureAggregation && form.threshold.trim() !== '' ? num(form.threshold) : null },
      differentialPrivacy: form.dpOn ? { epsilon: num(form.dpEpsilon), delta: num(form.dpDelta), clipNorm: num(form.dpClip), noise: form.secureAggregation ? form.dpNoise : 'central' } : null,
      updateEncoding: form.updateEncoding,
    },
  };
}
