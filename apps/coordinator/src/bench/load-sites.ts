/**
 * A process of `npm run bench:load`'s sites: many Socket.IO sites, each doing what a real site does on the wire. On
 * `session:welcome` it sends `site:ready`; when a `round:update` opens a round it takes part in, it downloads the
 * global model (`model:get`), "trains" for a random time, and submits a random finite float16 update
 * (`round:submit`), again after a reconnection if the ack never came. It reports every ack (latency, result) and
 * every disconnect to the parent over IPC, and at the end its part of the last round's weighted sum, from the
 * values the coordinator decodes (float16 widened), so that the parent can check the published model.
 *
 * Started by `load-bench.ts` with `fork` (advanced serialization); not a command of its own.
 */
import { isCounterEntry, moduleTensorSpec } from '@facmic/learning/plain';
import { decodeTensors, encodeTensors, PROTOCOL_VERSION, SITE_NAMESPACE, type SessionWelcome, type RoundUpdate, type TensorSet } from '@facmic/protocol';
import { io, type Socket } from 'socket.io-client';

export interface SitesStart {
  type: 'start';
  url: string;
  federationId: string;
  sites: { id: string; token: string }[];
  dim: number;
  trainMs: [number, number];
  seed: number;
  lastRound: number;
}

export type SitesReport =
  | { type: 'ack'; siteId: string; round: number; ms: number; ok: boolean; code: string | null; at: number }
  | { type: 'disconnect'; reason: string; at: number }
  | { type: 'finished'; siteId: string }
  | { type: 'partial'; sums: Record<string, Float64Array>; samples: number; cpuSeconds: number; maxRssBytes: number };

const POOL_SIZE = 6;
const ACK_TIMEOUT_MS = 120_000;

function send(message: SitesReport): void {
  process.send?.(message);
}

/** Distinct random finite float16 updates (values in [-1, 1)), encoded once, with the values the coordinator reads. */
function updatePool(dim: number, seed: number): { bytes: Uint8Array; values: TensorSet }[] {
  let s = seed >>> 0 || 1;
  const random = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const spec = moduleTensorSpec('facmic', dim);
  const counters = Object.keys(spec).filter(isCounterEntry);
  return Array.from({ length: POOL_SIZE }, (_, k) => {
    const state: TensorSet = {};
    for (const [name, shape] of Object.entries(spec)) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(size);
      if (isCounterEntry(name)) data.fill(10 + k);
      else for (let i = 0; i < size; i++) data[i] = random() * 2 - 1;
      state[name] = { shape: [...shape], data };
    }
    const { bytes } = encodeTensors(state, { dtype: 'float16', float32Names: counters });
    return { bytes, values: decodeTensors(bytes).tensors };
  });
}

function start(options: SitesStart): void {
  const pool = updatePool(options.dim, options.seed);
  const sums: Record<string, Float64Array> = {};
  const first = pool[0];
  if (!first) throw new Error('empty update pool');
  for (const [name, tensor] of Object.entries(first.values)) if (!isCounterEntry(name)) sums[name] = new Float64Array(tensor.data.length);
  let lastRoundSamples = 0;
  const sockets: Socket[] = [];
  let closing = false;

  options.sites.forEach((site, index) => {
    const socket = io(`${options.url}${SITE_NAMESPACE}`, {
      auth: { protocolVersion: PROTOCOL_VERSION, federationId: options.federationId, siteToken: site.token, client: 'facmic-load-bench' },
      transports: ['websocket'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
    });
    sockets.push(socket);
    let ready = false;
    let working: number | null = null;
    let finished = false;
    /** Counts connections: work begun on an earlier one is dropped (its ack may never come), as a real site does. */
    let connection = 0;
    const done = new Set<number>();

    const act = (update: RoundUpdate) => {
      if (!ready || finished) return;
      if (update.status === 'finished' || update.status === 'stopped') {
        finished = true;
        send({ type: 'finished', siteId: site.id });
        return;
      }
      if (update.submitted) done.add(update.round);
      if (update.status !== 'training' || !update.participating || update.submitted || done.has(update.round) || working === update.round) return;
      void takePart(update.round, update.latestModelRound);
    };

    const takePart = async (round: number, modelRound: number) => {
      working = round;
      const on = connection;
      try {
        const model = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('model:get', { round: modelRound })) as { ok: boolean; code?: string };
        if (!model.ok) throw new Error(`model:get refused: ${model.code ?? '?'}`);
        const [min, max] = options.trainMs;
        await new Promise((resolve) => setTimeout(resolve, min + Math.random() * (max - min)));
        if (on !== connection) return;
        const update = pool[(index * 31 + round * 7) % POOL_SIZE] ?? first;
        const sampleCount = 10 + ((index * 7919 + round * 104_729) % 990);
        const sent = performance.now();
        const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('round:submit', {
          federationId: options.federationId,
          round,
          sampleCount,
          weights: update.bytes,
          metrics: { trainLoss: 1, steps: 1, trainSeconds: (max + min) / 2000, globalModel: null, localModel: null },
        })) as { ok: boolean; code?: string; duplicate?: boolean };
        send({ type: 'ack', siteId: site.id, round, ms: performance.now() - sent, ok: ack.ok, code: ack.ok ? null : (ack.code ?? '?'), at: Date.now() });
        if (ack.ok || ack.code !== 'ROUND_CLOSED') done.add(round);
        if (ack.ok && ack.duplicate !== true && round === options.lastRound) {
          lastRoundSamples += sampleCount;
          for (const [name, sum] of Object.entries(sums)) {
            const values = update.values[name]?.data ?? new Float32Array(sum.length).fill(NaN);
            for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + sampleCount * (values[i] as number);
          }
        }
      } catch {
        // Lost with the connection (or refused): the next round:update after the reconnection decides again.
      } finally {
        if (working === round && on === connection) working = null;
      }
    };

    socket.on('session:welcome', (welcome: SessionWelcome) => {
      ready = false;
      void (async () => {
        try {
          const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('site:ready', { encoderHash: welcome.federation.encoder.hash, trainSamples: 100, testSamples: 0 })) as
            | { ok: true; round: RoundUpdate }
            | { ok: false; code: string };
          if (!ack.ok) return;
          ready = true;
          act(ack.round);
        } catch {
          // the connection went away; the next welcome tries again
        }
      })();
    });
    socket.on('round:update', act);
    socket.on('disconnect', (reason) => {
      ready = false;
      connection += 1;
      working = null;
      if (!closing) send({ type: 'disconnect', reason, at: Date.now() });
    });
  });

  process.on('message', (message: { type: string }) => {
    if (message.type !== 'report') return;
    closing = true;
    for (const socket of sockets) socket.close();
    const usage = process.cpuUsage();
    send({ type: 'partial', sums, samples: lastRoundSamples, cpuSeconds: (usage.user + usage.system) / 1e6, maxRssBytes: process.resourceUsage().maxRSS * 1024 });
    setTimeout(() => process.exit(0), 200);
  });
}

process.once('message', (message: SitesStart) => {
  start(message);
});
