/** The worker side of `offload-probe.ts`: the same decode + check + accumulate as on the main thread. */
import { parentPort } from 'node:worker_threads';
import { AGGREGATION_STRATEGIES, moduleTensorSpec } from '@facmic/learning/plain';
import { decodeTensors } from '@facmic/protocol';

const spec = moduleTensorSpec('facmic', 512);
const accumulator = AGGREGATION_STRATEGIES.fedavg().createAccumulator();
parentPort?.on('message', (bytes: Uint8Array) => {
  const decoded = decodeTensors(bytes, { expected: spec, copy: false });
  accumulator.add({ state: decoded.tensors, numSamples: 10 });
  parentPort?.postMessage({ ok: true, checksum: decoded.checksum });
});
