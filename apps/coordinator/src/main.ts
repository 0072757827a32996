/**
 * `npm start`: the coordinator with its embedded defaults (SQLite under ./data, port 3000). Prints the URL and, on
 * first start, the admin token and the demo federation's invite links. Settings: see `config.ts` (flags and env).
 */
import { join } from 'node:path';
import { ortWasmFiles } from '@facmic/encoder/node';
import { setUpAdminToken } from './auth.ts';
import { systemClock } from './clock.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createCoordinator } from './create-coordinator.ts';
import { createClipFeatureEncoder } from './features/clip-encoder.ts';
import { createConsoleLogger } from './logger.ts';
import { openSqliteStore } from './store/sqlite-store.ts';
import { VirtualHospitals } from './virtual-sites.ts';

const out = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`facmic coordinator: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createConsoleLogger(config.logLevel);
  const dbPath = join(config.dataDir, 'coordinator.sqlite');
  let store;
  try {
    store = openSqliteStore(dbPath);
  } catch (error) {
    process.stderr.write(`facmic coordinator: cannot open the database ${dbPath} (FACMIC_DATA_DIR / --data-dir): ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const admin = setUpAdminToken(store, config.adminToken, config.resetAdminToken);

  const encoderPromise = createClipFeatureEncoder({ model: config.model, modelsDir: config.modelsDir, logger });
  let ort: { dir: string; files: readonly string[] } | null = null;
  try {
    ort = ortWasmFiles();
  } catch (error) {
    logger.warn('ONNX Runtime wasm files not found: browsers cannot encode images', { error: error instanceof Error ? error.message : String(error) });
  }

  let virtual: VirtualHospitals | null = null;
  const coordinator = createCoordinator({
    store,
    clock: systemClock,
    logger,
    encoder: encoderPromise,
    config: {
      adminTokenHash: admin.hash,
      publicUrl: config.publicUrl,
      webDir: config.webDir,
      modelsDir: config.modelsDir,
      ort,
      maxMessageBytes: config.maxMessageBytes,
      keepSubmissionWeightsRounds: config.keepSubmissionWeightsRounds,
      crossOriginIsolation: config.crossOriginIsolation,
      trustProxy: config.trustProxy,
    },
    addVirtualSites: (federationId, count, samples) => {
      if (!virtual) return Promise.reject(new Error('virtual hospitals are not ready'));
      return virtual.add(federationId, count, samples);
    },
  });

  let url: string;
  try {
    ({ url } = await coordinator.listen(config.port, config.host));
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : error instanceof Error ? error.message : String(error);
    process.stderr.write(`facmic coordinator: cannot listen on ${config.host}:${config.port} (PORT / HOST): ${why}\n`);
    store.close();
    process.exit(2);
  }
  const publicUrl = config.publicUrl ?? url;
  virtual = new VirtualHospitals({
    federations: coordinator.federations,
    engine: coordinator.engine,
    store,
    encoder: () => encoderPromise,
    dir: join(config.dataDir, 'virtual-sites'),
    coordinatorUrl: () => url,
    logger,
  });

  out(`facmic coordinator listening on ${url}`);
  out(`  hospital page: ${publicUrl}/site   admin dashboard: ${publicUrl}/admin`);
  out(`  database: ${dbPath}`);
  if (config.host === '127.0.0.1' || config.host === 'localhost') out('  (only this machine can connect; set HOST=0.0.0.0 to accept hospitals on the network)');
  if (admin.generated !== null) {
    out();
    out(`  admin token (shown once; keep it): ${admin.generated}`);
    out('  set FACMIC_ADMIN_TOKEN to choose your own, or start with --reset-admin-token to replace it');
  } else {
    out(`  admin token: ${admin.source === 'env' ? 'from FACMIC_ADMIN_TOKEN' : 'as printed on first start (--reset-admin-token prints a new one)'}`);
  }

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info('shutting down', { signal });
    await virtual.stopAll();
    await coordinator.close();
    store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  let encoder;
  try {
    encoder = await encoderPromise;
  } catch (error) {
    logger.error('the encoder could not be loaded (FACMIC_MODEL / FACMIC_MODELS_DIR); federations cannot be created', {
      error: error instanceof Error ? error.message : String(error),
    });
    return;
  }
  logger.info(`encoder: ${encoder.note}`);

  let demoId = coordinator.federations.demoFederationId();
  if (config.demo && store.listFederations().length === 0) {
    logger.info('no federation yet: creating the demo federation (generated reference and global test images)');
    const started = await coordinator.federations.startDemoRun('coordinator');
    if (!started.ok) {
      logger.error('the demo federation could not be created', { code: started.code, message: started.message });
      return;
    }
    const { record: demo, hospitals } = started;
    demoId = demo.id;
    const s = demo.settings;
    out();
    out(`  demo federation "${s.name}" (${demo.id}): ${s.rounds} rounds${s.minRoundSeconds > 0 ? ` of at least ${s.minRoundSeconds} s` : ''}; a round starts with ${s.quorum} ready hospitals`);
    out('  demo hospitals; each link opens a tab that generates its own images (no folder needed):');
    for (const hospital of hospitals) out(`    ${hospital.name}: ${hospital.link}`);
    out(`  the landing page ${publicUrl}/ opens the same hospitals, adds virtual ones and starts new runs`);
  } else if (demoId !== null) {
    const demo = store.getFederation(demoId);
    if (demo && (demo.status === 'finished' || demo.status === 'stopped')) {
      out(`  demo federation ${demo.id}: ${demo.status}, round ${demo.round} of ${demo.settings.rounds}; ${publicUrl}/ starts a new run`);
    } else if (demo) {
      out(`  demo federation ${demo.id}: ${demo.status}, round ${demo.round} of ${demo.settings.rounds}; its demo hospitals (also on ${publicUrl}/):`);
      for (const hospital of coordinator.federations.demoHospitals(demo.id)) out(`    ${hospital.name}: ${hospital.link}`);
    }
  }
  const resumed = await virtual.resumeAll();
  if (resumed > 0) logger.info(`${resumed} virtual hospital(s) started again`);
  if (config.virtualSites > 0) {
    const target = demoId ?? store.listFederations().find((f) => f.status !== 'stopped' && f.status !== 'finished')?.id ?? null;
    if (target === null) {
      logger.warn('--virtual-sites: no federation to join');
    } else {
      await virtual.ensure(target, config.virtualSites);
      out(`  ${config.virtualSites} virtual hospital(s) running in federation ${target}`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`facmic coordinator failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
