/**
 * Secure aggregation in the real hospital page: the admin creates a federation with secure aggregation on through the
 * dashboard's form, three hospitals open their invites in their own browser contexts (one on forced WebGPU, a
 * software adapter here, two on WASM), choose a folder of generated images and finish 2 rounds: each round's sum is
 * unmasked by the coordinator from the hospitals' masked inputs (WebCrypto in the browser), with all three inside.
 * The dashboard and the hospital pages say that secure aggregation is on; no hospital uploads a weights file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type BrowserContext } from '@playwright/test';
import { AdminDashboard } from './fixtures/admin-dashboard.ts';
import { startCoordinator, type RunningCoordinator } from './fixtures/coordinator.ts';
import { HospitalPage } from './fixtures/hospital-page.ts';
import { writeHospitalFolder, type HospitalFolder } from './fixtures/hospital-images.ts';
import { DESKTOP } from './fixtures/screenshots.ts';

const CLASSES = ['glioma', 'meningioma', 'no tumor', 'pituitary'];
const ROUNDS = 2;
const HOSPITALS = [
  { name: 'Hospital A', device: 'webgpu' },
  { name: 'Hospital B', device: 'wasm' },
  { name: 'Hospital C', device: 'wasm' },
] as const;

let coordinator: RunningCoordinator;
let imagesRoot: string;
let folders: HospitalFolder[];
const contexts: BrowserContext[] = [];

test.beforeAll(async () => {
  imagesRoot = mkdtempSync(join(tmpdir(), 'facmic-e2e-secure-'));
  folders = HOSPITALS.map((_, index) => writeHospitalFolder(imagesRoot, { site: `secure-site-${index + 1}`, folderNames: CLASSES, perClass: 3 }));
  coordinator = await startCoordinator();
});

test.afterAll(async () => {
  for (const context of contexts) await context.close();
  await coordinator.stop();
  rmSync(imagesRoot, { recursive: true, force: true });
});

test('three browser hospitals, one on WebGPU, finish 2 rounds with secure aggregation on', async ({ browser }) => {
  test.setTimeout(8 * 60_000);
  const adminContext = await browser.newContext({ viewport: DESKTOP });
  contexts.push(adminContext);
  const admin = new AdminDashboard(await adminContext.newPage());
  await admin.open(coordinator.url, coordinator.adminToken);
  await admin.createFederation({
    name: 'E2E secure aggregation',
    classes: CLASSES,
    rounds: ROUNDS,
    quorum: 3,
    deadlineSeconds: 600,
    localEpochs: 1,
    stepsPerRound: 2,
    batchSize: 8,
    referenceCount: 8,
    globalTestPerClass: 3,
    secureAggregation: true,
  });
  const view = admin.page.getByTestId('federation-view');
  await expect(view).toContainText('secure aggregation: the coordinator sees only the sum of the hospitals’ updates');
  const invites: string[] = [];
  for (const hospital of HOSPITALS) invites.push(await admin.createInvite(hospital.name));
  const federationId = new URL(invites[0] ?? '').searchParams.get('f') ?? '';

  const pages: HospitalPage[] = [];
  const frames = HOSPITALS.map(() => ({ submissions: 0, answers: 0 }));
  for (const [index, hospital] of HOSPITALS.entries()) {
    const context = await browser.newContext({ viewport: DESKTOP });
    contexts.push(context);
    // What the page sends over Socket.IO: secure aggregation answers, and no weights file (round:submit).
    const seen = frames[index]!;
    const page = new HospitalPage(await context.newPage());
    page.page.on('websocket', (socket) => {
      socket.on('framesent', (frame) => {
        if (typeof frame.payload !== 'string') return;
        if (frame.payload.includes('"round:submit"')) seen.submissions++;
        if (frame.payload.includes('"secagg:answer"')) seen.answers++;
      });
    });
    page.page.on('pageerror', (error) => {
      console.log(`[${hospital.name}] page error: ${error.message}`);
    });
    const link = invites[index] ?? '';
    await page.open(hospital.device === 'webgpu' ? `${link}&device=webgpu` : link);
    await expect(page.page.getByTestId('privacy-settings')).toContainText('secure aggregation: the coordinator sees only the sum');
    await expect(page.page.getByTestId('federation-overview')).toContainText('A masked form of the small model’s weights');
    await expect(page.page.getByTestId('encoder-device')).toContainText(hospital.device === 'webgpu' ? 'WebGPU' : 'WASM', { timeout: 60_000 });
    await expect(page.page.getByTestId('tfjs-backend')).toContainText(hospital.device === 'webgpu' ? 'WebGPU' : 'WASM');
    await page.chooseFolder(folders[index]!.dir);
    pages.push(page);
  }

  const started = Date.now();
  const progress = (what: string) => {
    console.log(`[secure e2e] ${what} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
  };
  for (const [index, page] of pages.entries()) {
    await page.waitUntilTakingPart();
    progress(`${HOSPITALS[index]!.name} encoded its images`);
  }
  for (const [index, page] of pages.entries()) {
    await page.waitForFinished(300_000);
    progress(`${HOSPITALS[index]!.name} finished`);
  }
  for (const page of pages) await expect(page.page.getByTestId('round-counter')).toHaveText(`Round ${ROUNDS} of ${ROUNDS}`);
  await admin.expectRound(`${ROUNDS} / ${ROUNDS}`, 60_000);
  await expect(view).toContainText('finished');

  // Every round was published from the sum of all three hospitals.
  const headers = { authorization: `Bearer ${coordinator.adminToken}` };
  const rounds = (await (await fetch(`${coordinator.url}/api/federations/${federationId}/rounds`, { headers })).json()) as { rounds: { round: number; status: string; participants: string[]; modelChecksum: string | null; totalSamples: number }[] };
  expect(rounds.rounds.map((r) => [r.round, r.status, r.participants.length])).toEqual([
    [1, 'published', 3],
    [2, 'published', 3],
  ]);
  for (const round of rounds.rounds) expect(round.modelChecksum).toMatch(/^[0-9a-f]{8}$/);
  // Each hospital answered the four phases of both rounds and never uploaded its update.
  for (const [index, hospital] of HOSPITALS.entries()) {
    expect(frames[index]!.submissions, `${hospital.name}: round:submit frames`).toBe(0);
    expect(frames[index]!.answers, `${hospital.name}: secagg:answer frames`).toBeGreaterThanOrEqual(4 * ROUNDS);
  }
});
