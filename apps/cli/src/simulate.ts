/**
 * npm run simulate -- --synthetic [--sites 4] [--rounds 50] [--method facmic|facmic-nolmmd|facmic-oracle|fedclip|local|zeroshot] [--seed 1]
 *   [--classes 4] [--dim 512] [--samples-per-site 400] [--global-site N] [--global-split] [--local-steps 199]
 *   [--local-epochs E] [--batch-size 32] [--lr 5e-5] [--lmmd-weight 1] [--backend wasm|cpu] [--json FILE]
 *
 * Runs the FACMIC protocol with N sites in one process (see simulation/run-simulation.ts) and prints a table of
 * per-round accuracy / balanced accuracy per site and on the held-out global site, with the round's pseudo-label
 * accuracy (--json also has the mean contrastive and LMMD losses and the bytes sent). This file only parses flags and
 * picks the data source.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_BATCH_SIZE, DEFAULT_STEPS_PER_ROUND, METHOD_NAMES, PAPER_ADAM, isMethodName } from '@facmic/learning/plain';
import { isNodeBackendName, useTfBackend } from '@facmic/coordinator/tf-backend';
import { IMAGE_DATA_FLAGS, IMAGE_DATA_USAGE, imageDataFromFlags, siteCountForData } from './data/flags.ts';
import { SimulationError, finalSummary, generateSyntheticData, roundHeader, roundLine, runSimulation } from './simulation/index.ts';
import type { SimulationData } from './simulation/index.ts';

const USAGE = `usage: npm run simulate -- --synthetic | --data DIR [options]
  --sites N              number of sites, one of them held out as the global site (default 4)
  --rounds R             federated rounds (default 50, the paper's)
  --method M             ${METHOD_NAMES.join(' | ')} (default facmic)
  --seed S               seed for data, splits, initialisation and shuffling (default 1)
  --classes C            synthetic classes (default 4)
  --dim D                feature dimension (default 512)
  --samples-per-site N   mean samples per site; sizes vary 0.6x..1.4x (default 600)
  --global-site K        which site (1..N) is held out (default N, the last); as in the paper, its whole data is
                         both the unlabelled LMMD reference stream and the labelled global test set
  --global-split         split the global site 80/10/10 instead: reference = its train part, test = its test part
  --local-steps S        steps per local round (default ${DEFAULT_STEPS_PER_ROUND}: a round is ${DEFAULT_STEPS_PER_ROUND} steps of ${DEFAULT_BATCH_SIZE} images, drawn
                         from an endless reshuffled stream of the site's training images, as the paper's code)
  --local-epochs E       passes over the training images per round instead (with --local-steps: whichever
                         comes first)
  --batch-size B         local batch size (default ${DEFAULT_BATCH_SIZE})
  --lr LR                Adam learning rate (default ${PAPER_ADAM.learningRate})
  --lmmd-weight L        λ, the weight of the LMMD loss (default 1, the paper's code; the paper reports that
                         batches of 4-8 need it rescaled)
  --backend NAME         tfjs backend: wasm | cpu (default wasm)
  --json FILE            also write the full results as JSON
${IMAGE_DATA_USAGE}`;

class UsageError extends Error {}

function integer(value: string | undefined, name: string, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < minimum) throw new UsageError(`--${name} must be an integer >= ${minimum}, got "${value}"`);
  return parsed;
}

async function main(): Promise<number> {
  // Node sites against a running coordinator: apps/cli/src/simulate-coordinator.ts.
  if (process.argv.includes('--coordinator')) return (await import('./simulate-coordinator.ts')).runCoordinatorSimulation(process.argv.slice(2));
  // Privacy settings through a real coordinator in this process: apps/cli/src/simulate-private.ts.
  const privacyFlags = ['--secure-aggregation', '--dp', '--dp-epsilon', '--encoding'];
  if (process.argv.some((arg) => privacyFlags.includes(arg.split('=')[0] as string))) {
    const { runPrivateSimulation, PrivateUsageError, PRIVATE_USAGE } = await import('./simulate-private.ts');
    try {
      return await runPrivateSimulation(process.argv.slice(2));
    } catch (error) {
      if (!(error instanceof PrivateUsageError)) throw error;
      console.error(`${error.message}\n\n${PRIVATE_USAGE}`);
      return 2;
    }
  }
  const { values } = parseArgs({
    options: {
      synthetic: { type: 'boolean' },
      ...IMAGE_DATA_FLAGS,
      sites: { type: 'string' },
      rounds: { type: 'string' },
      method: { type: 'string' },
      seed: { type: 'string' },
      classes: { type: 'string' },
      dim: { type: 'string' },
      'samples-per-site': { type: 'string' },
      'global-site': { type: 'string' },
      'global-split': { type: 'boolean' },
      'local-epochs': { type: 'string' },
      'local-steps': { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      'lmmd-weight': { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if ((values.synthetic === true) === (values.data !== undefined)) throw new UsageError('choose one data source: --synthetic or --data DIR');
  const sites = values.data !== undefined ? await siteCountForData(values.data, values.sites) : integer(values.sites, 'sites', 4, 2);
  const method = values.method ?? 'facmic';
  if (!isMethodName(method)) throw new UsageError(`--method must be one of ${METHOD_NAMES.join(', ')}`);
  const backendName = values.backend ?? 'wasm';
  if (!isNodeBackendName(backendName)) throw new UsageError('--backend must be wasm or cpu');
  const learningRate = values.lr === undefined ? PAPER_ADAM.learningRate : Number(values.lr);
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new UsageError(`--lr must be a positive number, got "${values.lr ?? ''}"`);
  const lmmdWeight = values['lmmd-weight'] === undefined ? 1 : Number(values['lmmd-weight']);
  if (!(Number.isFinite(lmmdWeight) && lmmdWeight >= 0)) throw new UsageError(`--lmmd-weight must be a number >= 0, got "${values['lmmd-weight'] ?? ''}"`);
  const globalSite = integer(values['global-site'], 'global-site', sites, 1);
  if (globalSite > sites) throw new UsageError(`--global-site must be between 1 and ${sites}`);
  const seed = integer(values.seed, 'seed', 1, 0);
  const localSteps = values['local-steps'] === undefined ? undefined : integer(values['local-steps'], 'local-steps', 1, 1);
  const localEpochs = values['local-epochs'] === undefined ? undefined : integer(values['local-epochs'], 'local-epochs', 1, 1);
  const options = {
    method,
    rounds: integer(values.rounds, 'rounds', 50, 1),
    globalSite: globalSite - 1,
    globalSplit: values['global-split'] === true,
    seed,
    batchSize: integer(values['batch-size'], 'batch-size', DEFAULT_BATCH_SIZE, 2),
    learningRate,
    lmmdWeight,
    ...(localSteps === undefined ? {} : { localSteps }),
    ...(localEpochs === undefined ? {} : { localEpochs }),
  };
  const roundText = localEpochs === undefined ? `${localSteps ?? DEFAULT_STEPS_PER_ROUND} steps of ${options.batchSize}` : `${localEpochs} pass(es)${localSteps === undefined ? '' : ` (at most ${localSteps} steps)`} in batches of ${options.batchSize}`;
  const data: SimulationData = values.data !== undefined ? await imageDataFromFlags({ ...values, data: values.data }, { sites, seed }) : generateSyntheticData({
    sites,
    classes: integer(values.classes, 'classes', 4, 2),
    dim: integer(values.dim, 'dim', 512, 4),
    samplesPerSite: integer(values['samples-per-site'], 'samples-per-site', 600, 10),
    seed,
  });

  const backend = await useTfBackend(backendName);
  console.log(`${data.description}; method ${method}${lmmdWeight === 1 ? '' : ` (λ = ${lmmdWeight})`}; ${options.rounds} rounds of ${roundText}; global site ${options.globalSplit ? 'split 80/10/10 (reference: train part, test: test part)' : 'whole (reference stream and test set)'}; tfjs backend ${backend}`);
  const trainingNames = data.sites.filter((_, k) => k !== options.globalSite).map((site) => site.name);
  let headerPrinted = false;
  const result = await runSimulation(data, options, {
    onRound: (round) => {
      if (!headerPrinted) {
        console.log(roundHeader(trainingNames, data.sites[options.globalSite]?.name ?? ''));
        headerPrinted = true;
      }
      console.log(roundLine(round));
    },
  });
  console.log(`training sites (train/val/test): ${result.trainingSites.map((s) => `${s.name} ${s.train}/${s.val}/${s.test}`).join(', ')}; reference set ${result.referenceSize} unlabelled features of ${result.globalSite}; global test set ${result.globalTestSize}`);
  console.log(finalSummary(result));
  if (values.json !== undefined) {
    const file = path.resolve(values.json);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ options: { ...options, sites, backend, dim: data.dim, classes: data.classNames.length }, ...result }, null, 2)}\n`);
    console.log(`results written to ${file}`);
  }
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof UsageError || error instanceof SimulationError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    console.error(`${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
