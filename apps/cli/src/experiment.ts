/**
 * npm run experiment -- --synthetic | --data DIR [--methods ...] [--seeds 3] [--batch-sizes 8,32] [--rounds 20]
 *   [--partitions iid,dirichlet:0.5] [--lmmd-weights 1,0.25] [--out results/experiment] [--jobs N]
 *
 * The paper's comparisons in one command: a grid of methods x seeds x batch sizes x partitions x λ over the same
 * encoded features, in parallel child processes, resumable, with tables and plots (see experiment/run-experiment.ts).
 * This file only parses flags and loads the data.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { METHOD_NAMES, PAPER_ADAM, isMethodName } from '@facmic/learning/plain';
import type { MethodName } from '@facmic/learning/plain';
import { findSiteFolders } from '@facmic/encoder/node';
import { isNodeBackendName } from '@facmic/coordinator/tf-backend';
import { IMAGE_DATA_FLAGS, IMAGE_DATA_USAGE, imageDataFromFlags, siteCountForData } from './data/flags.ts';
import { parsePartition } from './data/partition.ts';
import { ExperimentError } from './experiment/store.ts';
import type { LoadedData } from './experiment/run-experiment.ts';
import { runExperiment } from './experiment/run-experiment.ts';
import { SimulationError, generateSyntheticData } from './simulation/index.ts';

const DEFAULT_METHODS: readonly MethodName[] = ['zeroshot', 'fedclip', 'facmic-nolmmd', 'facmic', 'facmic-oracle', 'local'];

const USAGE = `usage: npm run experiment -- --synthetic | --data DIR [options]
  --methods M,...        methods (default ${DEFAULT_METHODS.join(',')}); one of ${METHOD_NAMES.join(', ')}
  --seeds N              seeds 1..N (default 3): module initialisation, site splits, batch order
  --batch-sizes B,...    local batch sizes (default 32)
  --rounds R             federated rounds (default 50, the paper's)
  --lmmd-weights L,...   λ values for the methods with LMMD (default 1, the paper's code)
  --partitions P,...     with --data on one class-folder tree: iid | dirichlet:<alpha> (default dirichlet:0.5)
  --local-steps S        steps per local round (default 199, the paper's)
  --local-epochs E       passes over the training images per round instead
  --lr LR                Adam learning rate (default ${PAPER_ADAM.learningRate})
  --global-split         split the global site: reference = its train part, test = its test part
  --sites N              sites (synthetic, or a class-folder tree to partition; default 4); the last is held out
  --classes C, --dim D, --samples-per-site N   synthetic data (default 4, 512, 600)
  --data-seed S          seed of the synthetic data and of the partition (default 1): every cell sees the same sites
  --backend NAME         tfjs backend of each cell: wasm | cpu (default wasm)
  --out DIR              results folder (default results/experiment); run again with it in place to resume
  --jobs N               cells at once, one child process each (default: the ${availableParallelism()} cores)
${IMAGE_DATA_USAGE}`;

class UsageError extends Error {}

function integer(value: string | undefined, name: string, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < minimum) throw new UsageError(`--${name} must be an integer >= ${minimum}, got "${value}"`);
  return parsed;
}

function list<T>(value: string | undefined, name: string, fallback: readonly T[], parse: (item: string) => T): T[] {
  if (value === undefined) return [...fallback];
  const items = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (items.length === 0) throw new UsageError(`--${name} needs at least one value`);
  return [...new Set(items.map(parse))];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      synthetic: { type: 'boolean' },
      ...IMAGE_DATA_FLAGS,
      methods: { type: 'string' },
      seeds: { type: 'string' },
      'batch-sizes': { type: 'string' },
      rounds: { type: 'string' },
      'lmmd-weights': { type: 'string' },
      partitions: { type: 'string' },
      'local-steps': { type: 'string' },
      'local-epochs': { type: 'string' },
      lr: { type: 'string' },
      'global-split': { type: 'boolean' },
      sites: { type: 'string' },
      classes: { type: 'string' },
      dim: { type: 'string' },
      'samples-per-site': { type: 'string' },
      'data-seed': { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
      jobs: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if ((values.synthetic === true) === (values.data !== undefined)) throw new UsageError('choose one data source: --synthetic or --data DIR');
  const methods = list(values.methods, 'methods', DEFAULT_METHODS, (m) => {
    if (!isMethodName(m)) throw new UsageError(`--methods: unknown method "${m}"; expected ${METHOD_NAMES.join(', ')}`);
    return m;
  });
  const seedCount = integer(values.seeds, 'seeds', 3, 1);
  const batchSizes = list(values['batch-sizes'], 'batch-sizes', [32], (b) => integer(b, 'batch-sizes', 32, 2));
  const lmmdWeights = list(values['lmmd-weights'], 'lmmd-weights', [1], (l) => {
    const weight = Number(l);
    if (!(Number.isFinite(weight) && weight >= 0)) throw new UsageError(`--lmmd-weights: "${l}" is not a number >= 0`);
    return weight;
  });
  const backend = values.backend ?? 'wasm';
  if (!isNodeBackendName(backend)) throw new UsageError('--backend must be wasm or cpu');
  const learningRate = values.lr === undefined ? PAPER_ADAM.learningRate : Number(values.lr);
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new UsageError(`--lr must be a positive number, got "${values.lr ?? ''}"`);
  const dataSeed = integer(values['data-seed'], 'data-seed', 1, 0);
  const partitionFlag = values.partitions ?? values.partition;
  let partitions: string[];
  let describeData: string;
  let loadData: (partition: string) => Promise<LoadedData>;
  if (values.data !== undefined) {
    const dir = values.data;
    const sites = await siteCountForData(dir, values.sites);
    const ownSites = (await findSiteFolders(dir)) !== undefined;
    if (ownSites && partitionFlag !== undefined) throw new UsageError(`--partitions: ${dir} has its own site folders (client_*); partitions apply to one class-folder tree`);
    partitions = ownSites ? ['sites'] : list(partitionFlag, 'partitions', ['dirichlet:0.5'], (p) => {
      try {
        parsePartition(p);
      } catch (error) {
        throw new UsageError(`--partitions: ${error instanceof Error ? error.message : String(error)}`);
      }
      return p;
    });
    describeData = `${path.resolve(dir)} (${sites} sites${ownSites ? ', its client_* folders' : `, partition seed ${dataSeed}`}; model ${values.model ?? 'default'}; prompt ${values.prompt ?? 'default'}; prompt names ${values['prompt-names'] ?? 'words'})`;
    loadData = async (partition) => {
      const data = await imageDataFromFlags({ ...values, data: dir, ...(ownSites ? {} : { partition }) }, { sites, seed: dataSeed });
      return { data, modelId: data.modelId };
    };
  } else {
    if (partitionFlag !== undefined) throw new UsageError('--partitions applies to --data on one class-folder tree, not to --synthetic');
    const synthetic = {
      sites: integer(values.sites, 'sites', 4, 2),
      classes: integer(values.classes, 'classes', 4, 2),
      dim: integer(values.dim, 'dim', 512, 4),
      samplesPerSite: integer(values['samples-per-site'], 'samples-per-site', 600, 10),
      seed: dataSeed,
    };
    partitions = ['synthetic'];
    describeData = `synthetic (${synthetic.sites} sites, ${synthetic.classes} classes, D=${synthetic.dim}, ${synthetic.samplesPerSite} samples per site, data seed ${dataSeed})`;
    loadData = () => Promise.resolve({ data: generateSyntheticData(synthetic), modelId: null });
  }
  const localSteps = values['local-steps'] === undefined ? null : integer(values['local-steps'], 'local-steps', 1, 1);
  const localEpochs = values['local-epochs'] === undefined ? null : integer(values['local-epochs'], 'local-epochs', 1, 1);
  const out = path.resolve(values.out ?? path.join('results', 'experiment'));
  const jobs = integer(values.jobs, 'jobs', availableParallelism(), 1);
  const log = (line: string): void => {
    console.log(line);
  };
  const outcome = await runExperiment({
    out,
    jobs,
    axes: { methods, seeds: Array.from({ length: seedCount }, (_, i) => i + 1), batchSizes, partitions, lmmdWeights },
    settings: { data: describeData, rounds: integer(values.rounds, 'rounds', 50, 1), localSteps, localEpochs, learningRate, globalSplit: values['global-split'] === true, backend },
  }, { loadData, log });
  if (outcome.ran > 0 || outcome.failed.length > 0) {
    log(`${outcome.ran} cells run, ${outcome.skipped} already finished, ${outcome.failed.length} failed; wall time ${(outcome.wallMs / 1000).toFixed(1)} s with ${jobs} jobs`);
  }
  if (outcome.written.length > 0) log(`results in ${out}: ${outcome.written.map((file) => path.basename(file)).join(', ')}`);
  return outcome.failed.length > 0 ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof UsageError || error instanceof SimulationError || error instanceof ExperimentError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    console.error(`${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
