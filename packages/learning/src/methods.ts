/**
 * The federated methods, as data. tfjs-free.
 */
import { MethodError } from './errors.ts';
import type { ModuleKind } from './module-spec.ts';

export type MethodName = 'facmic' | 'fedclip' | 'local' | 'zeroshot';

export interface MethodSpec {
  readonly name: MethodName;
  readonly label: string;
  readonly description: string;
  /** The trained module, or null when the method uses raw CLIP features. */
  readonly module: ModuleKind | null;
  /** Whether local training adds the LMMD loss against the unlabelled reference set. */
  readonly lmmd: boolean;
  /** Whether sites send their module to be averaged each round. */
  readonly federated: boolean;
  /** Whether there is any training at all. */
  readonly trains: boolean;
}

export const METHODS: Readonly<Record<MethodName, MethodSpec>> = Object.freeze({
  facmic: {
    name: 'facmic',
    label: 'FACMIC',
    description: 'feature attention + contrastive loss + LMMD domain adaptation, FedAvg each round',
    module: 'facmic',
    lmmd: true,
    federated: true,
    trains: true,
  },
  fedclip: {
    name: 'fedclip',
    label: 'FedCLIP',
    description: 'FedCLIP attention adapter + contrastive loss, FedAvg each round (no domain adaptation)',
    module: 'fedclip',
    lmmd: false,
    federated: true,
    trains: true,
  },
  local: {
    name: 'local',
    label: 'Local',
    description: 'FACMIC training on each site alone, never aggregated',
    module: 'facmic',
    lmmd: true,
    federated: false,
    trains: true,
  },
  zeroshot: {
    name: 'zeroshot',
    label: 'Zero-shot CLIP',
    description: 'raw CLIP features against the class prompts, no training',
    module: null,
    lmmd: false,
    federated: false,
    trains: false,
  },
});

export const METHOD_NAMES: readonly MethodName[] = Object.keys(METHODS) as MethodName[];

export function isMethodName(value: unknown): value is MethodName {
  return typeof value === 'string' && Object.hasOwn(METHODS, value);
}

export function getMethod(name: string): MethodSpec {
  if (!isMethodName(name)) throw new MethodError('unknown-method', `unknown method "${name}"; expected one of ${METHOD_NAMES.join(', ')}`);
  return METHODS[name];
}
