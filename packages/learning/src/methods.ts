/**
 * The federated methods, as data. tfjs-free.
 */
import { MethodError } from './errors.ts';
import type { ModuleKind } from './module-spec.ts';

export type MethodName = 'facmic' | 'facmic-nolmmd' | 'facmic-oracle' | 'fedclip' | 'local' | 'zeroshot';

export interface MethodSpec {
  readonly name: MethodName;
  readonly label: string;
  readonly description: string;
  /** The trained module, or null when the method uses raw CLIP features. */
  readonly module: ModuleKind | null;
  /** Whether local training adds the LMMD loss against the unlabelled reference set. */
  readonly lmmd: boolean;
  /**
   * Whether LMMD weights the reference rows by their true labels (one-hot) instead of the module's pseudo labels: an
   * upper bound that needs a labelled reference set, so it exists only in simulation.
   */
  readonly oracle: boolean;
  /** Whether the method needs what only a simulation has (the reference set's true labels). */
  readonly simulationOnly: boolean;
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
    oracle: false,
    simulationOnly: false,
    federated: true,
    trains: true,
  },
  'facmic-nolmmd': {
    name: 'facmic-nolmmd',
    label: 'FACMIC without LMMD',
    description: "FACMIC's feature attention + contrastive loss only, FedAvg each round (the ablation without domain adaptation)",
    module: 'facmic',
    lmmd: false,
    oracle: false,
    simulationOnly: false,
    federated: true,
    trains: true,
  },
  'facmic-oracle': {
    name: 'facmic-oracle',
    label: 'FACMIC, oracle LMMD',
    description: "FACMIC with LMMD weighted by the reference set's true labels instead of pseudo labels (simulation only: an upper bound)",
    module: 'facmic',
    lmmd: true,
    oracle: true,
    simulationOnly: true,
    federated: true,
    trains: true,
  },
  fedclip: {
    name: 'fedclip',
    label: 'FedCLIP',
    description: 'FedCLIP attention adapter + contrastive loss, FedAvg each round (no domain adaptation)',
    module: 'fedclip',
    lmmd: false,
    oracle: false,
    simulationOnly: false,
    federated: true,
    trains: true,
  },
  local: {
    name: 'local',
    label: 'Local',
    description: 'FACMIC training on each site alone, never aggregated',
    module: 'facmic',
    lmmd: true,
    oracle: false,
    simulationOnly: false,
    federated: false,
    trains: true,
  },
  zeroshot: {
    name: 'zeroshot',
    label: 'Zero-shot CLIP',
    description: 'raw CLIP features against the class prompts, no training',
    module: null,
    lmmd: false,
    oracle: false,
    simulationOnly: false,
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
