/**
 * The coordinator process of `npm run bench:load`: the real `createCoordinator` on a SQLite file in a given folder,
 * the synthetic encoder (D from the environment, 512 by default), listening on a given port. Started again on the
 * same folder after a kill -9, it recovers from what is stored, as `npm start` does.
 *
 * Environment: LOAD_DATA_DIR, LOAD_PORT, LOAD_ADMIN_TOKEN, LOAD_DIM, LOAD_SUBMISSION_WORKER (`main`: updates are decoded
 * and stored on the main thread, for comparison). Prints `listening <url>` once it answers.
 */
import { join } from 'node:path';
import { createCoordinator } from '../create-coordinator.ts';
import { hashToken } from '../auth.ts';
import { systemClock } from '../clock.ts';
import { createSyntheticEncoder } from '../features/synthetic-encoder.ts';
import { createConsoleLogger } from '../logger.ts';
import { openSqliteStore } from '../store/sqlite-store.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
};

const store = openSqliteStore(join(env('LOAD_DATA_DIR'), 'coordinator.sqlite'));
// Bundled (load-bench.ts): the submission worker is the bundle beside this one; LOAD_SUBMISSION_WORKER=main: none.
const workerMode = process.env.LOAD_SUBMISSION_WORKER;
const coordinator = createCoordinator({
  submissionWorker: workerMode === 'main' ? false : new URL('./submission-worker.mjs', import.meta.url),
  store,
  clock: systemClock,
  logger: createConsoleLogger('warn'),
  encoder: createSyntheticEncoder({ dim: Number(process.env.LOAD_DIM ?? 512) }),
  config: {
    adminTokenHash: hashToken(env('LOAD_ADMIN_TOKEN')),
    // The bench's sites all connect from 127.0.0.1.
    authFailuresPerMinute: 1_000_000,
    // Old rounds' weights are not needed again; the disk stays small over many rounds.
    keepSubmissionWeightsRounds: 2,
    reconnectGraceMs: 60_000,
  },
});
const { url } = await coordinator.listen(Number(env('LOAD_PORT')), '127.0.0.1');
process.stdout.write(`listening ${url}\n`);

const stop = () => {
  void coordinator.close().finally(() => {
    store.close();
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
