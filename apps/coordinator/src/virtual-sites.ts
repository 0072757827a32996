/**
 * Virtual hospitals for demos (`npm start -- --virtual-sites 3`, `POST /api/federations/:id/virtual-sites`): the
 * coordinator encodes generated class images for each one (its own acquisition shift), then runs each as a child
 * process (Node + tfjs WASM + `@facmic/site`) so training never blocks the coordinator's event loop. Their tokens are
 * derived from a secret in the store, so after a restart the coordinator starts them again.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeTensors } from '@facmic/protocol';
import { encoderForDtype, type FeatureEncoder } from './features/feature-encoder.ts';
import type { FederationService } from './federations.ts';
import type { Logger } from './logger.ts';
import { loadNodeSiteData } from './node-site/node-site.ts';
import { VIRTUAL_DATA_TENSORS, type VirtualSiteSpec } from './node-site/virtual-site-spec.ts';
import type { CoordinatorStore, SiteRecord } from './store/store.ts';
import type { FederationEngine } from './engine.ts';
import { RefusalError } from './outcome.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..', '..');
const ENTRY = join(HERE, 'node-site', 'virtual-site-process.ts');

export interface VirtualHospitalsOptions {
  federations: FederationService;
  engine: FederationEngine;
  store: CoordinatorStore;
  encoder: () => Promise<FeatureEncoder>;
  /** Where the encoded data files go (`<data dir>/virtual-sites`). */
  dir: string;
  coordinatorUrl: () => string;
  logger: Logger;
}

export class VirtualHospitals {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;

  constructor(private readonly options: VirtualHospitalsOptions) {}

  /**
   * Creates `count` new virtual hospitals in a federation and starts them; returns their site ids. Refuses (a thrown
   * {@link RefusalError}, answered by the REST API) when the federation is gone.
   */
  async add(federationId: string, count: number, samplesPerSite = 64): Promise<string[]> {
    const existing = this.options.store.listSites(federationId).filter((s) => s.virtual).length;
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const name = `Virtual hospital ${existing + i + 1}`;
      const created = this.options.federations.createVirtualSite(federationId, name, 'admin');
      if (!created.ok) throw new RefusalError(created.code, created.message);
      await this.launch(created.record, samplesPerSite);
      ids.push(created.record.id);
    }
    return ids;
  }

  /** After a restart: starts again the virtual hospitals of every federation that is not over. */
  async resumeAll(): Promise<number> {
    let started = 0;
    for (const federation of this.options.store.listFederations()) {
      if (federation.status === 'stopped' || federation.status === 'finished') continue;
      for (const site of this.options.store.listSites(federation.id)) {
        if (!site.virtual || site.revokedAt !== null || this.children.has(site.id)) continue;
        await this.launch(site, 64);
        started++;
      }
    }
    return started;
  }

  /** Starts the existing virtual hospitals of a federation and adds new ones up to `count`. */
  async ensure(federationId: string, count: number): Promise<void> {
    const sites = this.options.store.listSites(federationId).filter((s) => s.virtual && s.revokedAt === null);
    for (const site of sites.slice(0, count)) await this.launch(site, 64);
    if (sites.length < count) await this.add(federationId, count - sites.length);
  }

  private async launch(site: SiteRecord, samplesPerSite: number): Promise<void> {
    if (this.children.has(site.id) || this.stopping) return;
    const federation = this.options.store.getFederation(site.federationId);
    if (!federation) return;
    const encoder = await encoderForDtype(await this.options.encoder(), federation.encoder.dtype);
    const dataFile = join(this.options.dir, `${site.id}.fmst`);
    const seed = Number.parseInt(site.id.replace(/[^0-9]/g, '').slice(0, 6) || '1', 10);
    if (!existsSync(dataFile)) {
      const config = this.options.engine.views.federationConfig(federation);
      const perClass = Math.max(2, Math.ceil(samplesPerSite / config.classNames.length));
      const data = await loadNodeSiteData(config, {
        encoder,
        name: site.id,
        data: { kind: 'generated', trainPerClass: perClass, testPerClass: Math.max(1, Math.ceil(perClass / 4)), seed },
      });
      const dim = encoder.identity.featureDim;
      const testRows = data.test ? data.test.labels.length : 0;
      const { bytes } = encodeTensors({
        [VIRTUAL_DATA_TENSORS.trainFeatures]: { shape: [data.train.labels.length, dim], data: data.train.features },
        [VIRTUAL_DATA_TENSORS.trainLabels]: { shape: [data.train.labels.length], data: Float32Array.from(data.train.labels) },
        [VIRTUAL_DATA_TENSORS.testFeatures]: { shape: [testRows, dim], data: data.test?.features ?? new Float32Array(0) },
        [VIRTUAL_DATA_TENSORS.testLabels]: { shape: [testRows], data: Float32Array.from(data.test?.labels ?? []) },
      });
      await mkdir(this.options.dir, { recursive: true });
      await writeFile(dataFile, bytes);
    }
    const spec: VirtualSiteSpec = {
      coordinatorUrl: this.options.coordinatorUrl(),
      federationId: site.federationId,
      token: this.options.federations.virtualToken(site.id),
      name: site.name,
      encoder: encoder.identity,
      dataFile,
      seed,
    };
    const child = fork(ENTRY, [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, FACMIC_VIRTUAL_SITE: JSON.stringify(spec) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.children.set(site.id, child);
    this.options.logger.info('virtual hospital started', { federation: site.federationId, site: site.id, name: site.name, pid: child.pid });
    child.on('exit', (code, signal) => {
      this.children.delete(site.id);
      if (!this.stopping) this.options.logger.info('virtual hospital exited', { site: site.id, code, signal });
    });
  }

  get running(): number {
    return this.children.size;
  }

  /** Stops every child (graceful first, then SIGKILL after `graceMs`). */
  async stopAll(graceMs = 3000): Promise<void> {
    this.stopping = true;
    const exits = [...this.children.values()].map(
      (child) =>
        new Promise<void>((resolvePromise) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            resolvePromise();
            return;
          }
          const timer = setTimeout(() => { child.kill('SIGKILL'); }, graceMs);
          child.once('exit', () => {
            clearTimeout(timer);
            resolvePromise();
          });
          child.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
  }
}
