/**
 * Acceptance (issue 14), in process: Node sites (`@facmic/site`) against the real coordinator with secure aggregation
 * on. The published models equal plain FedAvg of the same sites (same seeds, a second coordinator without secure
 * aggregation) within the fixed-point error; a site killed after sharing keys is recovered and the round completes
 * from the others; neither the SQLite file nor any message the coordinator received holds a site's plain weights;
 * an honest site refuses a request for both kinds of share of another site; a coordinator restarted mid-protocol
 * resumes the stored session and publishes the same model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { counterEntryNames } from '@facmic/learning/plain';
import { maxRelativeError } from '@facmic/privacy';
import { createFederationRequestSchema, decodeTensors, type CreateFederationRequest, type TensorSet } from '@facmic/protocol';
import type { SiteClient } from '@facmic/site';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTfBackend } from '../src/tf-backend.ts';
import { createInvite, FAST_TRAINING, startSite, startTestCoordinator, tempDir, waitFor, type TestCoordinator } from './helpers.ts';

const SITES = 5;
const SEED = 1405;

function settings(secure: boolean, overrides: Partial<CreateFederationRequest> = {}) {
  return createFederationRequestSchema.parse({
    name: secure ? 'Secure' : 'Plain',
    classNames: ['glioma', 'meningioma', 'no tumor', 'pituitary'],
    rounds: 2,
    // Every round starts with all the sites (the dropout test lowers it once the round is open).
    quorum: SITES,
    roundDeadlineSeconds: 120,
    training: { ...FAST_TRAINING, optimizer: { learningRate: 1e-3 } },
    reference: { kind: 'generated', count: 24 },
    globalTest: null,
    privacy: { secureAggregation: { enabled: secure, phaseSeconds: 2 } },
    ...overrides,
  });
}

interface Run {
  federationId: string;
  sites: SiteClient[];
  siteIds: string[];
  runs: Promise<unknown>[];
}

/** Creates the federation (same seed: same initial model and features) and starts `count` sites with fixed data. */
async function startFederation(t: TestCoordinator, secure: boolean, count = SITES, overrides: Partial<CreateFederationRequest> = {}): Promise<Run> {
  const created = await t.coordinator.federations.create(settings(secure, overrides), 'test', { id: 'fed-issue-14', seed: SEED });
  if (!created.ok) throw new Error(created.message);
  const federationId = created.federation.id;
  const sites: SiteClient[] = [];
  const siteIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const invite = await createInvite(t, federationId, `Hospital ${i + 1}`);
    siteIds.push(invite.site.id);
    sites.push(startSite(t.url, federationId, invite.token, { name: `hospital-${i + 1}`, encoder: t.encoder, trainPerClass: 2 + i, seed: i + 1 }));
  }
  return { federationId, sites, siteIds, runs: sites.map((site) => site.run()) };
}

/**
 * The published model without its step counters: plain FedAvg keeps the first update's counter, the secure sum
 * (which cannot tell updates apart) their rounded mean; the counter does not enter the module's output.
 */
function model(t: TestCoordinator, federationId: string, round: number): TensorSet {
  const stored = t.store.getGlobalModel(federationId, round);
  if (!stored) throw new Error(`no model of round ${round}`);
  const counters = new Set(counterEntryNames('facmic', 16));
  return Object.fromEntries(Object.entries(decodeTensors(stored.weights).tensors).filter(([name]) => !counters.has(name)));
}

/** 64-byte windows of every tensor of each plain update (the bytes a leak of the update would contain). */
function windowsOf(weights: Uint8Array): Buffer[] {
  const windows: Buffer[] = [];
  for (const tensor of Object.values(decodeTensors(weights).tensors)) {
    const bytes = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    for (let at = 0; at + 64 <= bytes.byteLength; at += Math.max(64, Math.floor(bytes.byteLength / 8))) windows.push(Buffer.from(bytes.subarray(at, at + 64)));
  }
  return windows;
}

describe('secure aggregation through the coordinator', () => {
  const plain: { models: TensorSet[]; updates: Uint8Array[] } = { models: [], updates: [] };

  beforeAll(async () => {
    await initTfBackend('cpu');
    const t = await startTestCoordinator();
    try {
      const run = await startFederation(t, false);
      await Promise.all(run.runs);
      plain.models = [1, 2].map((round) => model(t, run.federationId, round));
      plain.updates = t.store.listSubmissions(run.federationId, 1, { withWeights: true }).map((s) => s.weights as Uint8Array);
    } finally {
      await t.close();
    }
  }, 120_000);

  describe('5 sites', () => {
    let t: TestCoordinator;
    let run: Run;
    const received: { event: string; payload: string; binary: Buffer[] }[] = [];
    const refusals: string[] = [];

    beforeAll(async () => {
      t = await startTestCoordinator();
      // Every message the coordinator receives on the site namespace, as it arrives.
      t.coordinator.io.of('/site').on('connection', (socket) => {
        socket.onAny((event: string, ...args: unknown[]) => {
          const binary: Buffer[] = [];
          const payload = JSON.stringify(args, (_key, value: unknown) => {
            if (value instanceof Uint8Array || Buffer.isBuffer(value)) {
              binary.push(Buffer.from(value));
              return `<${value.byteLength} bytes>`;
            }
            return value;
          });
          received.push({ event, payload, binary });
        });
      });
      // Paced rounds (3 s at least) keep the sites connected while the curious request below is sent.
      run = await startFederation(t, true, SITES, { minRoundSeconds: 3 });
      for (const site of run.sites) site.on('secure', (report) => { if (report.refused) refusals.push(report.refused); });
      await waitFor(() => t.store.getFederation(run.federationId)?.round === 2 && t.store.getFederation(run.federationId)?.status === 'training', 60_000);
    }, 120_000);

    afterAll(async () => {
      await t.close();
    });

    it('an honest site refuses to reveal both kinds of share of another site', async () => {
      const session = t.store.privacy.latestSession(run.federationId, 1);
      const request = (session?.state as { unmaskingRequest: { session: string; survivors: string[]; dropped: string[] } }).unmaskingRequest;
      const [asked, victim] = request.survivors as [string, string];
      // The curious coordinator: the site already revealed the victim's self-mask share; now it asks for its key share.
      const curious = { phase: 'unmasking', request: { session: request.session, survivors: request.survivors.filter((s) => s !== victim), dropped: [victim] } };
      for (const socket of t.coordinator.io.of('/site').sockets.values()) {
        if ((socket.data as { siteId: string }).siteId === asked) socket.emit('secagg:request', curious);
      }
      await waitFor(() => refusals.includes('both-shares-requested'), 10_000);
      const answered = received.filter((m) => m.event === 'secagg:answer' && m.payload.includes('"refusal"'));
      expect(answered.some((m) => m.payload.includes('both-shares-requested'))).toBe(true);
    });

    it('publishes plain FedAvg of the sites within the fixed-point error, round after round', async () => {
      await Promise.all(run.runs);
      expect(t.store.getFederation(run.federationId)?.status).toBe('finished');
      for (const round of [1, 2]) {
        const error = maxRelativeError(model(t, run.federationId, round), plain.models[round - 1] as TensorSet);
        expect(error).toBeLessThan(1e-5);
        expect(t.store.getGlobalModel(run.federationId, round)?.contributors).toHaveLength(SITES);
      }
      expect(t.store.listSubmissions(run.federationId, 1)).toHaveLength(0);
    });

    it('neither the SQLite file nor any received message holds a site plain weights', () => {
      expect(plain.updates).toHaveLength(SITES);
      const windows = plain.updates.flatMap(windowsOf);
      expect(windows.length).toBeGreaterThan(SITES * 4);
      // Every row of every table, blobs included, and the database file itself (WAL checkpointed).
      const db = new Database(t.dbPath, { readonly: true });
      const blobs: Buffer[] = [];
      for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]) {
        for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) {
          for (const value of Object.values(row)) blobs.push(Buffer.isBuffer(value) ? value : Buffer.from(String(value)));
        }
      }
      db.close();
      blobs.push(readFileSync(t.dbPath));
      const wal = `${t.dbPath}-wal`;
      try {
        blobs.push(readFileSync(wal));
      } catch {
        // no WAL file
      }
      const messages = received.flatMap((m) => [Buffer.from(m.payload), ...m.binary]);
      expect(received.some((m) => m.event === 'secagg:answer')).toBe(true);
      expect(received.some((m) => m.event === 'round:submit')).toBe(false);
      for (const haystack of [...blobs, ...messages]) for (const window of windows) expect(haystack.indexOf(window)).toBe(-1);
    });
  });

  it('a site killed after sharing its keys is recovered: the round completes from the 4 others', async () => {
    const t = await startTestCoordinator();
    try {
      // Two rounds: the round machine does not change the rules of a federation's last open round.
      const run = await startFederation(t, true, SITES, { rounds: 2 });
      const killed = run.sites[SITES - 1] as SiteClient;
      let lowered = false;
      killed.on('secure', (report) => {
        if (report.phase !== 'share-keys' || report.refused !== null) return;
        killed.stop();
        // Every round started with all 5; this one may publish with the 4 left.
        lowered = t.coordinator.engine.updateSettings(run.federationId, { quorum: 4 }, 'test').ok;
      });
      await Promise.all(run.runs);
      expect(lowered).toBe(true);
      const published = t.store.getGlobalModel(run.federationId, 1);
      expect(published?.contributors).toHaveLength(SITES - 1);
      expect(published?.contributors).not.toContain(run.siteIds[SITES - 1]);
      const session = t.store.privacy.latestSession(run.federationId, 1);
      const request = (session?.state as { unmaskingRequest: { dropped: string[] } }).unmaskingRequest;
      expect(request.dropped).toEqual([run.siteIds[SITES - 1]]);
    } finally {
      await t.close();
    }
  }, 120_000);

  it('a coordinator restarted mid-protocol resumes the stored session and publishes plain FedAvg', async () => {
    const dir = tempDir();
    const dbPath = join(dir.path, 'coordinator.sqlite');
    const first = await startTestCoordinator({ dbPath });
    const port = Number(new URL(first.url).port);
    let held = '';
    // The first coordinator never receives the last site's masked input: it is down before that input arrives.
    first.coordinator.io.of('/site').on('connection', (socket) => {
      socket.use((packet, next) => {
        const answer = packet[1] as { phase?: string } | undefined;
        if (packet[0] === 'secagg:answer' && answer?.phase === 'masked-input' && (socket.data as { siteId: string }).siteId === held) return;
        next();
      });
    });
    const run = await startFederation(first, true, SITES, { rounds: 1, privacy: { secureAggregation: { enabled: true, phaseSeconds: 60 } } });
    held = run.siteIds[SITES - 1] as string;
    await waitFor(() => {
      const session = first.store.privacy.latestSession(run.federationId, 1);
      return session !== null && session.phase === 'collecting-inputs' && session.maskedInputs.size === SITES - 1;
    }, 60_000);
    await first.coordinator.close();
    first.store.close();
    const second = await startTestCoordinator({ dbPath, port, adminToken: first.adminToken });
    try {
      await Promise.all(run.runs);
      const error = maxRelativeError(model(second, run.federationId, 1), plain.models[0] as TensorSet);
      expect(error).toBeLessThan(1e-5);
      const session = second.store.privacy.latestSession(run.federationId, 1);
      expect(session?.attempt).toBe(1);
      expect(session?.maskedInputs.size).toBe(SITES);
      expect(second.store.getGlobalModel(run.federationId, 1)?.contributors).toHaveLength(SITES);
    } finally {
      await second.close();
      dir.remove();
    }
  }, 120_000);
});
