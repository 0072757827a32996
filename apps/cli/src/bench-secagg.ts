/**
 * npm run bench:secagg -- [--sites 3,10,50,100] [--json out.json]
 *
 * What secure aggregation (`@facmic/privacy`) costs a D=512 FACMIC federation, all in one process with real keys,
 * real masks and the real module size (`moduleSpec('facmic', 512)`: 527,361 values + the weight word):
 *
 * 1. the fixed-point error against plain float64 FedAvg (5 sites), and the 8-bit update encoding's error;
 * 2. for each site count: bytes per site per round (secure aggregation messages vs a float32 / float16 / 8-bit
 *    update), site compute per round by phase (key generation, key agreement, share encryption, mask expansion),
 *    and the coordinator's time per round (message checks, share forwarding, unmasking) with no dropout and with
 *    10% of the sites dropping after sharing keys, beside plain FedAvg of the same updates.
 *
 * Run under `flock /tmp/facmic-bench.lock` on a shared machine.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ModuleState } from '@facmic/learning/plain';
import { FedAvg, SeededRandom, initialModuleState, moduleSpec } from '@facmic/learning/plain';
import { encodedTensorsByteLength, SECURE_AGGREGATION_MAX_SITES, type KeyRoster } from '@facmic/protocol';
import {
  advertiseKeys,
  applyMeanDelta,
  closeAdvertising,
  closeInputs,
  closeSharing,
  createClientSession,
  createServerSession,
  decodeFixedPointSum,
  decodeInt8Update,
  deltaBounds,
  encodeFixedPoint,
  encodeInt8Update,
  finishUnmasking,
  inputLayout,
  int8UpdateBytes,
  maskInput,
  maxRelativeError,
  receiveAdvertisement,
  receiveMaskedInput,
  receiveShares,
  receiveUnmaskingResponse,
  shareKeys,
  stateDelta,
  unmask,
  type FixedPointParameters,
  syntheticRoundState,
  type SecureAggregationClientState,
} from '@facmic/privacy';

const DIM = 512;
const SPEC = moduleSpec('facmic', DIM);
const LAYOUT = inputLayout(SPEC);
const BOUNDS = deltaBounds(SPEC, { learningRate: 5e-5, betas: [0.9, 0.98], stepsPerRound: 199 });
const GLOBAL = initialModuleState('facmic', DIM, 1);

function siteState(seed: number): ModuleState {
  return syntheticRoundState(SPEC, GLOBAL, BOUNDS, seed);
}

/** Bytes of a message on the wire: its JSON text, binary fields counted as raw bytes (Socket.IO attachments). */
function wireBytes(message: unknown): number {
  let binary = 0;
  const text = JSON.stringify(message, (_, value: unknown) => {
    if (value instanceof Uint8Array) {
      binary += value.byteLength;
      return '<binary>';
    }
    return value;
  });
  return new TextEncoder().encode(text).length + binary;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function timed<T>(run: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await run();
  return { value, ms: performance.now() - start };
}

interface SiteCost {
  advertiseMs: number;
  shareMs: number;
  maskMs: number;
  unmaskMs: number;
  upBytes: number;
  downBytes: number;
}

interface SessionMeasure {
  sites: number;
  dropped: number;
  threshold: number;
  siteCosts: SiteCost[];
  coordinatorMs: { checks: number; forwarding: number; unmasking: number };
  sum: { maxRelativeError: number };
}

async function measureSession(states: readonly ModuleState[], samples: readonly number[], dropped: number): Promise<SessionMeasure> {
  const n = states.length;
  const ids = states.map((_, i) => `site-${String(i).padStart(3, '0')}`);
  const session = `bench/n${n}/d${dropped}`;
  const maxWeight = Math.max(...samples);
  const costs: SiteCost[] = ids.map(() => ({ advertiseMs: 0, shareMs: 0, maskMs: 0, unmaskMs: 0, upBytes: 0, downBytes: wireBytes({ session, round: 1 }) }));
  const coordinatorMs = { checks: 0, forwarding: 0, unmasking: 0 };
  let server = createServerSession({ session, encoding: { maxWeight, bounds: BOUNDS, length: LAYOUT.length } });
  const clients: SecureAggregationClientState[] = ids.map((id) => createClientSession(session, id));

  for (const [k, id] of ids.entries()) {
    const { value, ms } = await timed(() => advertiseKeys(clients[k] as SecureAggregationClientState));
    clients[k] = value.state;
    (costs[k] as SiteCost).advertiseMs += ms;
    (costs[k] as SiteCost).upBytes += wireBytes(value.message);
    const check = await timed(() => receiveAdvertisement(server, id, value.message));
    server = check.value;
    coordinatorMs.checks += check.ms;
  }
  const advertised = await timed(() => closeAdvertising(server));
  server = advertised.value.state;
  coordinatorMs.forwarding += advertised.ms;
  const roster = advertised.value.roster as KeyRoster;

  for (const [k, id] of ids.entries()) {
    (costs[k] as SiteCost).downBytes += wireBytes(roster);
    const { value, ms } = await timed(() => shareKeys(clients[k] as SecureAggregationClientState, roster));
    clients[k] = value.state;
    (costs[k] as SiteCost).shareMs += ms;
    (costs[k] as SiteCost).upBytes += wireBytes(value.message);
    const check = await timed(() => receiveShares(server, id, value.message));
    server = check.value;
    coordinatorMs.checks += check.ms;
  }
  const shared = await timed(() => closeSharing(server));
  server = shared.value.state;
  coordinatorMs.forwarding += shared.ms;

  const parameters: FixedPointParameters = { maxWeight, siteCount: n, bounds: BOUNDS };
  const droppedIds = new Set(ids.slice(0, dropped));
  for (const [k, id] of ids.entries()) {
    const request = shared.value.requests[id];
    if (request === undefined) continue;
    (costs[k] as SiteCost).downBytes += wireBytes(request);
    if (droppedIds.has(id)) continue;
    const { value, ms } = await timed(() => {
      const encoded = encodeFixedPoint(LAYOUT, parameters, stateDelta(LAYOUT, states[k] as ModuleState, GLOBAL), samples[k] as number);
      return maskInput(clients[k] as SecureAggregationClientState, request, encoded.input);
    });
    clients[k] = value.state;
    (costs[k] as SiteCost).maskMs += ms;
    (costs[k] as SiteCost).upBytes += wireBytes(value.message);
    const check = await timed(() => receiveMaskedInput(server, id, value.message));
    server = check.value;
    coordinatorMs.checks += check.ms;
  }
  const closed = await timed(() => closeInputs(server));
  server = closed.value.state;
  coordinatorMs.forwarding += closed.ms;
  const request = closed.value.request;
  if (request === null) throw new Error(`session ${session} failed: ${server.failure?.message ?? ''}`);
  for (const [k, id] of ids.entries()) {
    if (droppedIds.has(id)) continue;
    (costs[k] as SiteCost).downBytes += wireBytes(request);
    const { value, ms } = await timed(() => unmask(clients[k] as SecureAggregationClientState, request));
    clients[k] = value.state;
    (costs[k] as SiteCost).unmaskMs += ms;
    (costs[k] as SiteCost).upBytes += wireBytes(value.message);
    const check = await timed(() => receiveUnmaskingResponse(server, id, value.message));
    server = check.value;
    coordinatorMs.checks += check.ms;
  }
  const finished = await timed(async () => {
    const { result } = await finishUnmasking(server);
    if (result === null) throw new Error(`unmasking of ${session} failed`);
    return decodeFixedPointSum(LAYOUT, parameters, result.sum, result.contributors.length);
  });
  coordinatorMs.unmasking = finished.ms;
  const survivors = states.filter((_, k) => !droppedIds.has(ids[k] as string));
  const survivorSamples = samples.filter((_, k) => !droppedIds.has(ids[k] as string));
  const plain = new FedAvg().aggregateTrain(survivors.map((state, k) => ({ state, numSamples: survivorSamples[k] as number })));
  const error = maxRelativeError(applyMeanDelta(LAYOUT, GLOBAL, finished.value.meanDelta), plain);
  return { sites: n, dropped, threshold: roster.threshold, siteCosts: costs.filter((_, k) => !droppedIds.has(ids[k] as string)), coordinatorMs, sum: { maxRelativeError: error } };
}

/** The fixed-point mean against the exact float64 weighted mean (before rounding to float32). */
function fixedPointFigure(): { vsFloat64: number; vsFedAvg: number } {
  const states = [120, 250, 80, 400, 310].map((_, k) => siteState(100 + k));
  const samples = [120, 250, 80, 400, 310];
  const parameters: FixedPointParameters = { maxWeight: 512, siteCount: 5, bounds: BOUNDS };
  const sum = new Uint32Array(LAYOUT.length);
  for (const [k, state] of states.entries()) {
    const { input } = encodeFixedPoint(LAYOUT, parameters, stateDelta(LAYOUT, state, GLOBAL), samples[k] as number);
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (input[i] as number);
  }
  // Masks cancel exactly mod 2^32 (the session measures above check it end to end); the error is the encoding's.
  const { meanDelta, weightSum } = decodeFixedPointSum(LAYOUT, parameters, sum, 5);
  let worst = 0;
  for (const entry of LAYOUT.entries) {
    if (entry.kind === 'counter') continue;
    let scale = 0;
    let error = 0;
    for (let i = 0; i < entry.length; i++) {
      const exact = states.reduce((s, state, k) => s + (samples[k] as number) * ((state[entry.name] as { data: Float32Array }).data[i] as number), 0) / weightSum;
      const got = ((GLOBAL[entry.name] as { data: Float32Array }).data[i] as number) + (meanDelta[entry.offset + i] as number);
      scale = Math.max(scale, Math.abs(exact));
      error = Math.max(error, Math.abs(got - exact));
    }
    worst = Math.max(worst, error / scale);
  }
  const plain = new FedAvg().aggregateTrain(states.map((state, k) => ({ state, numSamples: samples[k] as number })));
  return { vsFloat64: worst, vsFedAvg: maxRelativeError(applyMeanDelta(LAYOUT, GLOBAL, meanDelta), plain) };
}

function int8Figure(): { deltaL2: number; stateMax: number; fedAvgMax: number; bytes: number } {
  const samples = [120, 250, 80, 400, 310];
  const states = samples.map((_, k) => siteState(200 + k));
  const random = new SeededRandom(5);
  let deltaError = 0;
  let deltaNorm = 0;
  let stateMax = 0;
  let bytes = 0;
  const decoded = states.map((state) => {
    const update = encodeInt8Update(SPEC, state, GLOBAL, random);
    bytes = int8UpdateBytes(update);
    const back = decodeInt8Update(update, GLOBAL);
    for (const [name, tensor] of Object.entries(state)) {
      if (!(name in update.tensors)) continue; // running statistics and the counter travel exactly
      const base = (GLOBAL[name] as { data: Float32Array }).data;
      const got = (back[name] as { data: Float32Array }).data;
      for (let i = 0; i < tensor.data.length; i++) {
        deltaError += ((got[i] as number) - (tensor.data[i] as number)) ** 2;
        deltaNorm += ((tensor.data[i] as number) - (base[i] as number)) ** 2;
      }
    }
    stateMax = Math.max(stateMax, maxRelativeError(back, state));
    return back;
  });
  const plain = new FedAvg().aggregateTrain(states.map((state, k) => ({ state, numSamples: samples[k] as number })));
  const quantised = new FedAvg().aggregateTrain(decoded.map((state, k) => ({ state, numSamples: samples[k] as number })));
  return { deltaL2: Math.sqrt(deltaError / deltaNorm), stateMax, fedAvgMax: maxRelativeError(quantised, plain), bytes };
}

function plainFedAvgMs(states: readonly ModuleState[], samples: readonly number[]): number {
  const times: number[] = [];
  for (let repeat = 0; repeat < 3; repeat++) {
    const start = performance.now();
    new FedAvg().aggregateTrain(states.map((state, k) => ({ state, numSamples: samples[k] as number })));
    times.push(performance.now() - start);
  }
  return median(times);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sites: { type: 'string', default: '3,10,50,100' }, json: { type: 'string' } } });
  const siteCounts = values.sites.split(',').map(Number);
  for (const n of siteCounts) {
    if (!Number.isInteger(n) || n < 2 || n > SECURE_AGGREGATION_MAX_SITES) throw new Error(`--sites takes counts between 2 and ${SECURE_AGGREGATION_MAX_SITES}, got ${n}`);
  }
  const spec = Object.fromEntries(SPEC.map((entry) => [entry.name, [...entry.shape]]));
  const float32Bytes = encodedTensorsByteLength(spec, 'float32');
  const float16Bytes = encodedTensorsByteLength(spec, 'float16', ['1.num_batches_tracked']);
  console.log(`module: facmic D=${DIM}, ${LAYOUT.valueCount} values, masked vector ${LAYOUT.length} words (${LAYOUT.length * 4} bytes)`);

  const fixed = fixedPointFigure();
  console.log(`fixed point: max relative error ${fixed.vsFloat64.toExponential(2)} vs float64 FedAvg, ${fixed.vsFedAvg.toExponential(2)} vs plain FedAvg (float32 output), 5 sites`);
  const int8 = int8Figure();
  console.log(`8-bit update: relative L2 error of the parameters' delta ${int8.deltaL2.toExponential(2)}, max relative error of a site state ${int8.stateMax.toExponential(2)}, of the 5-site FedAvg ${int8.fedAvgMax.toExponential(2)}; ${int8.bytes} bytes of tensor data (float32 file ${float32Bytes})`);

  const rows: Record<string, unknown>[] = [];
  for (const n of siteCounts) {
    const samples = Array.from({ length: n }, (_, k) => 60 + ((k * 37) % 400));
    const states = samples.map((_, k) => siteState(1000 + k));
    const dropped = Math.max(1, Math.ceil(n / 10));
    const full = await measureSession(states, samples, 0);
    const withDrops = await measureSession(states, samples, dropped);
    const fedAvgMs = plainFedAvgMs(states, samples);
    const site = {
      advertiseMs: median(full.siteCosts.map((cost) => cost.advertiseMs)),
      shareMs: median(full.siteCosts.map((cost) => cost.shareMs)),
      maskMs: median(full.siteCosts.map((cost) => cost.maskMs)),
      unmaskMs: median(full.siteCosts.map((cost) => cost.unmaskMs)),
      upBytes: median(full.siteCosts.map((cost) => cost.upBytes)),
      downBytes: median(full.siteCosts.map((cost) => cost.downBytes)),
    };
    const siteTotal = site.advertiseMs + site.shareMs + site.maskMs + site.unmaskMs;
    const coordinator = (m: SessionMeasure) => m.coordinatorMs.checks + m.coordinatorMs.forwarding + m.coordinatorMs.unmasking;
    console.log(`sites ${n}: threshold ${full.threshold}; bytes per site per round: secure aggregation up ${site.upBytes} down ${site.downBytes} (plus the global model, as without); without: up ${float32Bytes} float32, ${float16Bytes} float16, ${int8.bytes} 8-bit`);
    console.log(`sites ${n}: site compute per round: ${siteTotal.toFixed(0)} ms (advertise keys ${site.advertiseMs.toFixed(1)}, share keys ${site.shareMs.toFixed(0)}, masked input ${site.maskMs.toFixed(0)} with ${n} mask expansions, unmasking ${site.unmaskMs.toFixed(1)}), median site`);
    console.log(`sites ${n}: coordinator per round: secure aggregation ${coordinator(full).toFixed(0)} ms (unmasking ${full.coordinatorMs.unmasking.toFixed(0)}), with ${dropped} dropped after sharing ${coordinator(withDrops).toFixed(0)} ms (unmasking ${withDrops.coordinatorMs.unmasking.toFixed(0)}); plain FedAvg ${fedAvgMs.toFixed(0)} ms`);
    console.log(`sites ${n}: secure aggregation: max relative error ${Math.max(full.sum.maxRelativeError, withDrops.sum.maxRelativeError).toExponential(2)} vs plain FedAvg`);
    rows.push({ sites: n, threshold: full.threshold, dropped, site: { ...site, totalMs: siteTotal }, coordinatorMs: { full: full.coordinatorMs, withDrops: withDrops.coordinatorMs, plainFedAvg: fedAvgMs }, bytes: { float32: float32Bytes, float16: float16Bytes, int8: int8.bytes }, maxRelativeError: Math.max(full.sum.maxRelativeError, withDrops.sum.maxRelativeError) });
  }
  console.log('');
  console.log('| sites | t | bytes up / down per site (secure aggregation) | bytes up without (fp32 / fp16 / 8-bit) | site compute per round | coordinator per round (0 dropped / 10% dropped) | plain FedAvg |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const r = row as { sites: number; threshold: number; dropped: number; site: { upBytes: number; downBytes: number; totalMs: number }; coordinatorMs: { full: SessionMeasure['coordinatorMs']; withDrops: SessionMeasure['coordinatorMs']; plainFedAvg: number }; bytes: { float32: number; float16: number; int8: number } };
    const total = (m: SessionMeasure['coordinatorMs']) => m.checks + m.forwarding + m.unmasking;
    console.log(`| ${r.sites} | ${r.threshold} | ${r.site.upBytes} / ${r.site.downBytes} | ${r.bytes.float32} / ${r.bytes.float16} / ${r.bytes.int8} | ${r.site.totalMs.toFixed(0)} ms | ${total(r.coordinatorMs.full).toFixed(0)} ms / ${total(r.coordinatorMs.withDrops).toFixed(0)} ms (${r.dropped} dropped) | ${r.coordinatorMs.plainFedAvg.toFixed(0)} ms |`);
  }
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify({ module: { kind: 'facmic', dim: DIM, values: LAYOUT.valueCount }, fixedPoint: fixed, int8, rows }, null, 2));
}

await main();
