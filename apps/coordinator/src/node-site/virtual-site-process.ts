/**
 * Entry of one virtual hospital's child process (demo): reads its encoded data from the file the coordinator wrote,
 * trains with tfjs on WASM and takes part through `@facmic/site`, like a browser would. Exits when the federation
 * finishes or stops, and when its parent (the coordinator) goes away.
 */
import { readFile } from 'node:fs/promises';
import { decodeTensors } from '@facmic/protocol';
import { createSiteClient } from '@facmic/site';
import { initTfBackend } from '../tf-backend.ts';
import { optimizerFileStore } from './optimizer-file.ts';
import { VIRTUAL_DATA_TENSORS, type VirtualSiteSpec } from './virtual-site-spec.ts';

async function run(): Promise<number> {
  const text = process.env.FACMIC_VIRTUAL_SITE;
  if (text === undefined) throw new Error('FACMIC_VIRTUAL_SITE is not set');
  const spec = JSON.parse(text) as VirtualSiteSpec;
  process.on('disconnect', () => { process.exit(0); });
  await initTfBackend('wasm');
  const file = decodeTensors(new Uint8Array(await readFile(spec.dataFile))).tensors;
  const tensor = (name: string) => {
    const t = file[name];
    if (!t) throw new Error(`${spec.dataFile} lacks ${name}`);
    return t;
  };
  const dim = spec.encoder.featureDim;
  const testLabels = tensor(VIRTUAL_DATA_TENSORS.testLabels).data;
  const data = {
    train: { dim, features: tensor(VIRTUAL_DATA_TENSORS.trainFeatures).data, labels: Int32Array.from(tensor(VIRTUAL_DATA_TENSORS.trainLabels).data) },
    test: testLabels.length > 0 ? { dim, features: tensor(VIRTUAL_DATA_TENSORS.testFeatures).data, labels: Int32Array.from(testLabels) } : null,
  };
  const client = createSiteClient({
    coordinatorUrl: spec.coordinatorUrl,
    federationId: spec.federationId,
    token: spec.token,
    encoder: { modelId: spec.encoder.modelId, hash: spec.encoder.hash },
    loadData: () => Promise.resolve(data),
    clientName: `facmic virtual hospital (${spec.name})`,
    seed: spec.seed,
    // Adam's state survives a restart of this process (the coordinator restarts a virtual hospital that exits).
    optimizerStore: optimizerFileStore(`${spec.dataFile}.adam`),
    connection: { transports: ['websocket'], reconnectionDelayMs: 500, reconnectionDelayMaxMs: 5000 },
  });
  client.on('submitted', (e) => { process.stderr.write(`[${spec.name}] round ${e.round} submitted (${e.sampleCount} samples)\n`); });
  client.on('optimizer', (e) => { process.stderr.write(`[${spec.name}] round ${e.round}: ${e.message}\n`); });
  client.on('error', (e) => { process.stderr.write(`[${spec.name}] ${e.fatal ? 'fatal ' : ''}${e.code}: ${e.message}\n`); });
  const result = await client.run();
  process.stderr.write(`[${spec.name}] ${result.reason}\n`);
  return 0;
}

run().then(
  (code) => { process.exit(code); },
  (error: unknown) => {
    process.stderr.write(`virtual hospital failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
