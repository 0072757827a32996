/**
 * npm run parity -- FILE [--backend cpu|wasm|all]
 *
 * Replays a parity vectors file (the `../shared/parity` formats: a single local step, `facmic-local-step.json`, or the
 * whole multi-round protocol, `facmic-protocol.json`, replayed through facmic's real round loop with the recorded batch
 * order; any D, B, C, seed, number of sites, rounds and steps) through @facmic/learning and prints, per quantity, the maximum relative error (elements within 1e-6 absolute count as
 * matching), then `max relative error: X`. Exits 1 if X > 1e-4, 2 on unusable input.
 * Default backend: cpu (tfjs's reference kernels); `all` runs cpu and wasm and reports the larger error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ParityQuantity, ParityReport } from '@facmic/learning';
import { LearningError } from '@facmic/learning';
import { PARITY_ABSOLUTE_TOLERANCE, PARITY_RELATIVE_TOLERANCE, isProtocolVectors, parseParityVectors, replayParity, replayProtocol, summarizeProtocol } from '@facmic/learning';
import { NODE_BACKENDS, isNodeBackendName, useTfBackend, type NodeBackendName } from '@facmic/coordinator/tf-backend';

const USAGE = 'usage: npm run parity -- FILE [--backend cpu|wasm|all]';

function formatError(value: number): string {
  return value === 0 ? '0' : value.toExponential(2);
}

function printQuantity(quantity: ParityQuantity): void {
  const flag = quantity.maxRelativeError > PARITY_RELATIVE_TOLERANCE ? `  FAIL (${quantity.mismatches}/${quantity.count} elements)` : '';
  console.log(`  ${quantity.name.padEnd(52)} ${String(quantity.count).padStart(6)}  ${formatError(quantity.maxRelativeError).padStart(9)}${flag}`);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { backend: { type: 'string', default: 'cpu' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const requested = values.backend;
  const backends: NodeBackendName[] = requested === 'all' ? [...NODE_BACKENDS].reverse() : isNodeBackendName(requested) ? [requested] : [];
  if (backends.length === 0) {
    console.error(`unknown backend "${requested}"; ${USAGE}`);
    return 2;
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  let replay: () => Promise<ParityReport>;
  try {
    if (isProtocolVectors(json)) {
      const summary = summarizeProtocol(json);
      const steps = [...new Set(summary.stepsPerRound)].join('/');
      console.log(`${file}: protocol, ${summary.rounds} rounds of ${steps} local steps, ${summary.trainingSites.length} training sites + global site ${summary.globalSite}, D=${summary.dim}, B=${summary.batchSize}, C=${summary.numClasses}`);
      const { learningRate, beta1, beta2, epsilon, weightDecay } = summary.adam;
      console.log(`Adam lr ${learningRate} betas (${beta1}, ${beta2}) eps ${epsilon} weight decay ${weightDecay}, logit scale ${summary.logitScale} (from config); replayed through trainLocal with the recorded batch order`);
      replay = () => replayProtocol(json, { onQuantity: printQuantity });
    } else {
      const vectors = parseParityVectors(json);
      console.log(`${file}: ${vectors.kind} module, D=${vectors.dim}, B=${vectors.batchSize}, C=${vectors.numClasses}, ${vectors.steps.length} steps`);
      const { learningRate, beta1, beta2, epsilon, weightDecay } = vectors.adam;
      const sources = new Set(Object.values(vectors.settingsSource));
      console.log(`Adam lr ${learningRate} betas (${beta1}, ${beta2}) eps ${epsilon} weight decay ${weightDecay}, logit scale ${vectors.logitScale} (from ${[...sources].join(' and ')})`);
      replay = () => replayParity(vectors, { onQuantity: printQuantity });
    }
  } catch (error) {
    console.error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  console.log(`pass: max relative error <= ${PARITY_RELATIVE_TOLERANCE} (differences <= ${PARITY_ABSOLUTE_TOLERANCE} count as matching)`);
  let worst = 0;
  for (const backend of backends) {
    const active = await useTfBackend(backend);
    console.log(`\nbackend ${active}:`);
    console.log(`  ${'quantity'.padEnd(52)} ${'values'.padStart(6)}  ${'max rel'.padStart(9)}`);
    let report: ParityReport;
    try {
      report = await replay();
    } catch (error) {
      if (error instanceof LearningError) {
        console.error(`cannot replay ${file}: ${error.message}`);
        return 2;
      }
      throw error;
    }
    console.log(`  ${active}: max relative error ${formatError(report.maxRelativeError)} over ${report.quantities.length} quantities: ${report.passed ? 'pass' : 'FAIL'}`);
    if (report.quantities.length === 0) worst = Number.POSITIVE_INFINITY;
    worst = Math.max(worst, report.maxRelativeError);
  }
  console.log(`max relative error: ${formatError(worst)}`);
  return worst <= PARITY_RELATIVE_TOLERANCE ? 0 : 1;
}

process.exitCode = await main();
