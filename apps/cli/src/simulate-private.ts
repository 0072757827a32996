/**
 * npm run simulate -- --synthetic | --data DIR [--sites 5] [--rounds 3] [--secure-aggregation] [--threshold T]
 *   [--dp | --dp-epsilon E] [--dp-delta D] [--dp-clip S] [--dp-noise central|distributed]
 *   [--encoding float32|float16|int8] [--dim 512] [--synthetic-noise 0.6] [--per-class 30] [--local-steps 10] [--lr 1e-3] [--seed 1] [--backend wasm|cpu]
 *
 * The privacy settings of a federation measured end to end: a real coordinator (SQLite in memory, the synthetic
 * encoder) and N Node sites (`@facmic/site`) in this process, over Socket.IO, on the same seed for every setting.
 * With `--data DIR` (the image-data flags of the plain simulate), the sites train on encoded images instead: the last
 * site folder is the global site, whose features the coordinator gets as reference and test set (private-federation.ts).
 * Prints each round's global accuracy on the coordinator's held-out test set, then lines a script can read:
 *   secure aggregation: max relative error X vs plain FedAvg   (the published model against the float64 FedAvg of
 *                                                            the very deltas the sites encoded, DP noise included;
 *                                                            step counters left out)
 *   epsilon spent: X (delta 1e-05)
 *   final accuracy: X (balanced Y)
 */
import { parseArgs } from 'node:util';
import { counterEntryNames, moduleSpec, type ModuleState } from '@facmic/learning/plain';
import { applyMeanDelta, inputLayout, maxRelativeError } from '@facmic/privacy';
import { createFederationRequestSchema, decodeTensors, UPDATE_ENCODINGS, type UpdateEncoding } from '@facmic/protocol';
import { createCoordinator, createNodeSite, generateToken, hashToken, openSqliteStore, silentLogger, systemClock } from '@facmic/coordinator';
import { isNodeBackendName, useTfBackend } from '@facmic/coordinator/tf-backend';
import { IMAGE_DATA_FLAGS, IMAGE_DATA_USAGE, imageDataFromFlags, siteCountForData } from './data/flags.ts';
import { imageDataFederation, PrivateDataError, syntheticFederation, type PrivateFederationSource } from './private-federation.ts';
import { SimulationError } from './simulation/index.ts';

export const PRIVATE_USAGE = `usage: npm run simulate -- --synthetic | --data DIR  --secure-aggregation | --dp | --dp-epsilon E | --encoding T [options]
  --sites N              hospitals (default 5); with --data: all sites, the global one included (see --data)
  --rounds R             rounds (default 3)
  --secure-aggregation   the coordinator sees only the sum (Bonawitz et al. 2017)
  --threshold T          fewest sites a sum may hold (default: a strict majority)
  --dp                   differential privacy with --dp-epsilon 8 unless given
  --dp-epsilon E         privacy budget of the whole run
  --dp-delta D           delta (default 1e-5)
  --dp-clip S            L2 clip norm of each update (default 0.05)
  --dp-noise P           central | distributed (default: distributed with secure aggregation, else central)
  --encoding T           update encoding without secure aggregation: ${UPDATE_ENCODINGS.join(' | ')} (default float32)
  --dim D                feature dimension (default 512)
  --synthetic-noise N    image feature noise relative to the class signal (default 0.6: every setting reaches 100%;
                         about 16 leaves room to see an accuracy cost)
  --per-class N          training images per class and site (default 30; site k has N + 5k)
  --local-steps S        local steps per round (default 10)
  --lr LR                Adam learning rate (default 1e-3)
  --seed S               seed of the federation and the sites' data (default 1)
  --backend B            tfjs backend: wasm | cpu (default wasm)
 with --data (--dim, --synthetic-noise and --per-class do not apply): the LAST site is the global site, its whole
 features the coordinator's reference and global test set; the others are Node sites, each split 80/10/10
${IMAGE_DATA_USAGE}`;

export class PrivateUsageError extends Error {}

/** Python's `%g`-style exponent (1e-05), as the issue's plain lines read. */
export function formatDelta(delta: number): string {
  const [mantissa, exponent] = delta.toExponential().split('e') as [string, string];
  const sign = exponent.startsWith('-') ? '-' : '+';
  const digits = exponent.replace(/^[-+]/, '').padStart(2, '0');
  return `${mantissa}e${sign}${digits}`;
}

function number(value: string | undefined, name: string, fallback: number, check: (n: number) => boolean): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || !check(parsed)) throw new PrivateUsageError(`--${name}: invalid value "${value}"`);
  return parsed;
}

export async function runPrivateSimulation(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      synthetic: { type: 'boolean' },
      ...IMAGE_DATA_FLAGS,
      sites: { type: 'string' },
      rounds: { type: 'string' },
      'secure-aggregation': { type: 'boolean' },
      threshold: { type: 'string' },
      dp: { type: 'boolean' },
      'dp-epsilon': { type: 'string' },
      'dp-delta': { type: 'string' },
      'dp-clip': { type: 'string' },
      'dp-noise': { type: 'string' },
      encoding: { type: 'string' },
      dim: { type: 'string' },
      'synthetic-noise': { type: 'string' },
      'per-class': { type: 'string' },
      'local-steps': { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
    },
    strict: true,
  });
  if ((values.synthetic === true) === (values.data !== undefined)) throw new PrivateUsageError('choose one data source: --synthetic or --data DIR');
  if (values.data !== undefined) {
    const synthetic = (['dim', 'synthetic-noise', 'per-class'] as const).find((name) => values[name] !== undefined);
    if (synthetic) throw new PrivateUsageError(`--${synthetic} applies to --synthetic data only`);
  }
  const rounds = number(values.rounds, 'rounds', 3, (n) => Number.isInteger(n) && n >= 1);
  const secure = values['secure-aggregation'] === true;
  const dpOn = values.dp === true || values['dp-epsilon'] !== undefined;
  const noise = values['dp-noise'] ?? (secure ? 'distributed' : 'central');
  if (noise !== 'central' && noise !== 'distributed') throw new PrivateUsageError('--dp-noise must be central or distributed');
  const encoding = (values.encoding ?? 'float32') as UpdateEncoding;
  if (!UPDATE_ENCODINGS.includes(encoding)) throw new PrivateUsageError(`--encoding must be one of ${UPDATE_ENCODINGS.join(', ')}`);
  const seed = number(values.seed, 'seed', 1, (n) => Number.isInteger(n) && n >= 0);
  const backendName = values.backend ?? 'wasm';
  if (!isNodeBackendName(backendName)) throw new PrivateUsageError('--backend must be wasm or cpu');
  const dp = dpOn
    ? {
        epsilon: number(values['dp-epsilon'], 'dp-epsilon', 8, (n) => n > 0),
        delta: number(values['dp-delta'], 'dp-delta', 1e-5, (n) => n > 0 && n < 1),
        clipNorm: number(values['dp-clip'], 'dp-clip', 0.05, (n) => n > 0),
        noise,
      }
    : null;
  const threshold = values.threshold === undefined ? null : number(values.threshold, 'threshold', 2, (n) => Number.isInteger(n) && n >= 2);
  const localSteps = number(values['local-steps'], 'local-steps', 10, (n) => Number.isInteger(n) && n >= 1);
  const learningRate = number(values.lr, 'lr', 1e-3, (n) => n > 0);
  const source = values.data !== undefined ? await imageSource({ ...values, data: values.data }, values.sites, seed) : syntheticFederation({
    sites: number(values.sites, 'sites', 5, (n) => Number.isInteger(n) && n >= 2 && n <= 100),
    dim: number(values.dim, 'dim', 512, (n) => Number.isInteger(n) && n >= 4),
    noise: number(values['synthetic-noise'], 'synthetic-noise', 0.6, (n) => n >= 0),
    perClass: number(values['per-class'], 'per-class', 30, (n) => Number.isInteger(n) && n >= 1),
    seed,
  });
  const sites = source.sites.length;
  const dim = source.dim;
  const settings = createFederationRequestSchema.parse({
    name: 'Privacy simulation',
    classNames: source.classNames,
    promptTemplate: source.promptTemplate,
    rounds,
    quorum: sites,
    roundDeadlineSeconds: 3600,
    training: { localEpochs: 1, batchSize: 16, stepsPerRound: localSteps, optimizer: { learningRate } },
    reference: source.reference,
    globalTest: source.globalTest,
    privacy: { secureAggregation: { enabled: secure, threshold, phaseSeconds: 120 }, differentialPrivacy: dp, updateEncoding: encoding },
  });

  const backend = await useTfBackend(backendName);
  const store = openSqliteStore(':memory:');
  const encoder = source.encoder;
  const coordinator = createCoordinator({ store, clock: systemClock, logger: silentLogger, encoder, config: { adminTokenHash: hashToken(generateToken()) } });
  const { url } = await coordinator.listen(0, '127.0.0.1');
  try {
    const created = await coordinator.federations.create(settings, 'simulate', { seed });
    if (!created.ok) throw new Error(created.message);
    const federationId = created.federation.id;
    console.log(`${source.description}; ${sites} sites through a real coordinator; ${rounds} rounds; secure aggregation ${secure ? 'on' : 'off'}; ${dp ? `DP epsilon ${dp.epsilon}, delta ${formatDelta(dp.delta)}, clip ${dp.clipNorm}, ${dp.noise} noise` : 'no DP'}; updates ${secure ? 'fixed point (secure aggregation)' : encoding}; tfjs ${backend}`);
    // What each site encoded, by round (measurements only): the FedAvg of exactly these deltas is the reference.
    const inputs = new Map<number, { delta: Float64Array; weight: number }[]>();
    const clients = [];
    for (const [k, { name, data }] of source.sites.entries()) {
      const token = generateToken();
      const site = coordinator.engine.createSite({ id: `site-${k + 1}`, federationId, name: `Hospital ${k + 1}`, tokenHash: hashToken(token), virtual: true, actor: 'simulate' });
      if (!site.ok) throw new Error(site.message);
      clients.push(
        createNodeSite({
          coordinatorUrl: url,
          federationId,
          token,
          name,
          encoder,
          data,
          seed: seed * 1000 + k,
          connection: { transports: ['websocket'], requestTimeoutMs: 120_000 },
          onSecureInput: (round, delta, weight) => {
            inputs.set(round, [...(inputs.get(round) ?? []), { delta, weight }]);
          },
        }),
      );
    }
    await Promise.all(clients.map((client) => client.run()));
    await coordinator.engine.idle();
    const spec = moduleSpec(settings.method, dim);
    const layout = inputLayout(spec);
    let worst = 0;
    for (const model of store.listGlobalModels(federationId)) {
      if (model.round === 0) continue;
      const metrics = model.metrics;
      console.log(`round ${model.round}: global accuracy ${metrics ? metrics.accuracy.toFixed(4) : 'n/a'}, balanced ${metrics ? metrics.balancedAccuracy.toFixed(4) : 'n/a'} (${model.contributors.length} contributors)`);
      const encoded = inputs.get(model.round);
      if (!secure || !encoded) continue;
      const previous = store.getGlobalModel(federationId, model.round - 1);
      const published = store.getGlobalModel(federationId, model.round);
      if (!previous || !published) continue;
      const mean = new Float64Array(layout.valueCount);
      const total = encoded.reduce((sum, input) => sum + input.weight, 0);
      for (const { delta, weight } of encoded) for (let i = 0; i < mean.length; i++) mean[i] = (mean[i] as number) + ((delta[i] as number) * weight) / total;
      const expected = applyMeanDelta(layout, decodeTensors(previous.weights).tensors, mean);
      // Step counters are left out: a mean of step counts that ends in .5 rounds either way (they do not enter the output).
      const counters = new Set(counterEntryNames(settings.method, dim));
      const floats = (state: ModuleState) => Object.fromEntries(Object.entries(state).filter(([name]) => !counters.has(name)));
      worst = Math.max(worst, maxRelativeError(floats(decodeTensors(published.weights).tensors), floats(expected)));
    }
    const last = store.listGlobalModels(federationId).at(-1);
    if (!secure) {
      // The sites' updates as stored (8-bit ones were read against the round's global model before they were added).
      const files = store.listGlobalModels(federationId).filter((m) => m.round > 0).flatMap((m) => store.listSubmissions(federationId, m.round));
      if (files.length > 0) console.log(`update size: ${Math.round(files.reduce((sum, f) => sum + f.bytes, 0) / files.length)} bytes per site per round (${[...new Set(files.map((f) => f.dtype))].join(', ')})`);
    }
    if (secure) console.log(`secure aggregation: max relative error ${worst.toExponential(2)} vs plain FedAvg`);
    if (dp) console.log(`epsilon spent: ${(store.privacy.ledger(federationId).at(-1)?.epsilonSpent ?? 0).toFixed(4)} (delta ${formatDelta(dp.delta)})`);
    if (last?.metrics) console.log(`final accuracy: ${last.metrics.accuracy.toFixed(4)} (balanced ${last.metrics.balancedAccuracy.toFixed(4)})`);
    return 0;
  } finally {
    await coordinator.close();
    store.close();
  }
}

/** `--data DIR` loaded (features cached) and mapped to the federation; data errors read as usage errors. */
async function imageSource(values: Parameters<typeof imageDataFromFlags>[0], sitesFlag: string | undefined, seed: number): Promise<PrivateFederationSource> {
  try {
    const sites = await siteCountForData(values.data, sitesFlag);
    return imageDataFederation(await imageDataFromFlags(values, { sites, seed }), seed);
  } catch (error) {
    if (error instanceof SimulationError || error instanceof PrivateDataError) throw new PrivateUsageError(error.message);
    throw error;
  }
}
