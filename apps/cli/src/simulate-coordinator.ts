/**
 * npm run simulate -- --coordinator URL --federation ID (--tokens T1,T2,.. | --invites LINK1,LINK2,.. | --admin-token A --sites N)
 *   [--data DIR] [--samples-per-site N] [--test-fraction F] [--model M] [--models-dir DIR] [--dtype float32|float16]
 *   [--backend wasm|cpu] [--seed S]
 *
 * N virtual hospitals in this process, each a `@facmic/site` client with the frozen CLIP encoder, taking part in a
 * federation of a running coordinator through its real Socket.IO API. Data: `--data DIR` (class folders; `client_*`
 * sub-folders give each site its own tree, else the tree is split among the sites), or generated class images with a
 * per-site acquisition shift. Prints each site's progress and the accuracies it measures.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClipFeatureEncoder, createConsoleLogger, createNodeSite, type NodeSiteData } from '@facmic/coordinator';
import { coordinatorInfoSchema, inviteCreatedSchema, parseInviteLink } from '@facmic/protocol';
import type { SiteRunResult } from '@facmic/site';
import { isNodeBackendName, useTfBackend } from '@facmic/coordinator/tf-backend';

export const COORDINATOR_USAGE = `usage: npm run simulate -- --coordinator URL --federation ID (--tokens T1,T2 | --invites LINK1,LINK2 | --admin-token A --sites N) [options]
  --coordinator URL      base URL of a running coordinator (npm start)
  --federation ID        federation to join
  --tokens T1,T2,...     site tokens (one virtual hospital each)
  --invites L1,L2,...    invite links instead of tokens
  --admin-token A        create --sites N invites with the admin token instead
  --sites N              number of virtual hospitals with --admin-token (default 3)
  --data DIR             class-folder tree (or DIR/client_0.. one per site); default: generated images
  --samples-per-site N   generated images per site (default 80), or a cap per class with --data
  --test-fraction F      local test split of generated data (default 0.2; folders use the one 80/10/10 split)
  --model M              encoder (default: the coordinator's, looked up in --models-dir)
  --models-dir DIR       models folder (default ./models)
  --dtype T              weights on the wire: float32 | float16 (default float32)
  --backend B            tfjs backend: wasm | cpu (default wasm)
  --seed S               seed (default 1)`;

class UsageError extends Error {}

function siteFolders(dir: string): string[] | null {
  const clients = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^client_\d+$/.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)));
  return clients.length > 0 ? clients.map((name) => join(dir, name)) : null;
}

/** Runs the simulation; usage errors print the usage and return 2. */
export async function runCoordinatorSimulation(argv: readonly string[]): Promise<number> {
  try {
    return await simulate(argv);
  } catch (error) {
    const parseError = error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS');
    if (error instanceof UsageError || parseError) {
      console.error(`${error.message}\n\n${COORDINATOR_USAGE}`);
      return 2;
    }
    throw error;
  }
}

async function simulate(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      coordinator: { type: 'string' },
      federation: { type: 'string' },
      tokens: { type: 'string' },
      invites: { type: 'string' },
      'admin-token': { type: 'string' },
      sites: { type: 'string' },
      data: { type: 'string' },
      'samples-per-site': { type: 'string' },
      'test-fraction': { type: 'string' },
      model: { type: 'string' },
      'models-dir': { type: 'string' },
      dtype: { type: 'string' },
      backend: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    console.log(COORDINATOR_USAGE);
    return 0;
  }
  const url = (values.coordinator ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(url)) throw new UsageError('--coordinator needs the coordinator URL, e.g. http://127.0.0.1:3000');
  const federationId = values.federation;
  if (federationId === undefined) throw new UsageError('--federation ID is required');
  const seed = Number(values.seed ?? '1');
  const samples = Number(values['samples-per-site'] ?? '80');
  const testFraction = Number(values['test-fraction'] ?? '0.2');
  if (!Number.isInteger(seed)) throw new UsageError('--seed must be an integer');
  if (!(Number.isInteger(samples) && samples >= 4)) throw new UsageError('--samples-per-site must be an integer >= 4');
  if (!(testFraction >= 0 && testFraction < 1)) throw new UsageError('--test-fraction must be in [0, 1)');
  const dtype = values.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') throw new UsageError('--dtype must be float32 or float16');
  const backend = values.backend ?? 'wasm';
  if (!isNodeBackendName(backend)) throw new UsageError('--backend must be wasm or cpu');
  if (values.data !== undefined && !existsSync(values.data)) throw new UsageError(`--data ${values.data} does not exist`);

  const infoResponse = await fetch(`${url}/api/info`).catch((error: unknown) => {
    throw new UsageError(`cannot reach the coordinator at ${url}: ${error instanceof Error ? error.message : String(error)}`);
  });
  const info = coordinatorInfoSchema.parse(await infoResponse.json());

  let tokens: string[];
  if (values.tokens !== undefined) {
    tokens = values.tokens.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  } else if (values.invites !== undefined) {
    tokens = values.invites.split(',').map((link) => {
      const invite = parseInviteLink(link.trim());
      if (!invite) throw new UsageError(`not an invite link: ${link}`);
      if (invite.federationId !== federationId) throw new UsageError(`${link} invites to ${invite.federationId}, not ${federationId}`);
      return invite.token;
    });
  } else if (values['admin-token'] !== undefined) {
    const count = Number(values.sites ?? '3');
    if (!(Number.isInteger(count) && count >= 1 && count <= 64)) throw new UsageError('--sites must be an integer from 1 to 64');
    tokens = [];
    for (let i = 0; i < count; i++) {
      const response = await fetch(`${url}/api/federations/${encodeURIComponent(federationId)}/invites`, {
        method: 'POST',
        headers: { authorization: `Bearer ${values['admin-token']}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Simulated hospital ${i + 1}` }),
      });
      if (response.status !== 201) throw new UsageError(`creating an invite failed: ${response.status} ${await response.text()}`);
      tokens.push(inviteCreatedSchema.parse(await response.json()).token);
    }
  } else {
    throw new UsageError('give site tokens (--tokens), invite links (--invites) or --admin-token with --sites');
  }
  if (tokens.length === 0) throw new UsageError('no site tokens');

  console.log(`tfjs backend: ${await useTfBackend(backend)}`);
  const encoder = await createClipFeatureEncoder({ model: values.model ?? info.encoder.modelId, modelsDir: values['models-dir'] ?? 'models', logger: createConsoleLogger('warn') });
  console.log(`encoder: ${encoder.note}`);
  if (encoder.identity.hash !== info.encoder.hash) {
    console.log(`warning: this encoder's hash differs from the coordinator's (${info.encoder.modelId}); the sites will refuse to take part`);
  }

  const folders = values.data === undefined ? null : siteFolders(values.data);
  if (folders && folders.length < tokens.length) throw new UsageError(`--data has ${folders.length} client_* folders for ${tokens.length} sites`);
  const runs: Promise<SiteRunResult>[] = tokens.map((token, index) => {
    const name = `hospital-${index + 1}`;
    let data: NodeSiteData;
    if (values.data === undefined) {
      data = { kind: 'generated', trainPerClass: Math.max(2, Math.round(((1 - testFraction) * samples) / 4)), testPerClass: Math.max(1, Math.round((testFraction * samples) / 4)), seed: seed + index };
    } else if (folders) {
      data = { kind: 'folder', path: folders[index] as string, seed };
    } else {
      data = { kind: 'folder', path: values.data, seed, shard: { index, count: tokens.length }, ...(values['samples-per-site'] === undefined ? {} : { limitPerClass: samples }) };
    }
    const site = createNodeSite({ coordinatorUrl: url, federationId, token, name, encoder, data, weightsDtype: dtype, seed: seed * 1000 + index });
    const say = (line: string) => { console.log(`[${name}] ${line}`); };
    site.on('welcome', (w) => { say(`joined "${w.federation.name}" as ${w.site.name} (${w.federation.method}, ${w.federation.rounds} rounds, quorum ${w.federation.quorum})`); });
    site.on('evaluated', (e) => { say(`round ${e.round}: ${e.model} model on the local test split: accuracy ${e.metrics.accuracy.toFixed(3)}, balanced ${e.metrics.balancedAccuracy.toFixed(3)}`); });
    site.on('submitted', (e) => { say(`round ${e.round}: submitted ${e.sampleCount} samples, ${e.bytes} bytes${e.duplicate ? ' (duplicate)' : ''}`); });
    site.on('refused', (e) => { say(`round ${e.round}: refused ${e.code}: ${e.message}`); });
    site.on('connection', (e) => { if (!e.connected && e.reason !== 'io client disconnect') say(`disconnected (${e.reason ?? 'unknown'}); reconnecting`); });
    site.on('error', (e) => { say(`${e.fatal ? 'fatal ' : ''}${e.code}: ${e.message}`); });
    return site.run();
  });
  const results = await Promise.allSettled(runs);
  let failed = 0;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') console.log(`hospital-${i + 1}: ${r.value.reason}, rounds submitted: ${r.value.roundsSubmitted.join(', ') || 'none'}`);
    else {
      failed++;
      console.log(`hospital-${i + 1}: failed: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
    }
  });
  await encoder.dispose();
  return failed > 0 ? 1 : 0;
}
