/**
 * The whole federation in browsers: the real coordinator (tiny CLIP), an admin who creates the federation and three
 * invites through the dashboard, and three hospitals in their own browser contexts, each choosing its own folder of
 * generated images through the folder picker. One hospital runs on forced WebGPU (a software adapter here), the
 * others on WASM. They encode and finish three rounds; one is reloaded mid-federation and must resume without
 * encoding again and without joining again. No image bytes may leave the hospital pages.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Browser, type BrowserContext } from '@playwright/test';
import { encodedTensorsByteLength } from '@facmic/protocol';
import { moduleTensorSpec } from '@facmic/learning/plain';
import { AdminDashboard } from './fixtures/admin-dashboard.ts';
import { startCoordinator, type RunningCoordinator } from './fixtures/coordinator.ts';
import { HospitalPage } from './fixtures/hospital-page.ts';
import { writeHospitalFolder, type HospitalFolder } from './fixtures/hospital-images.ts';
import { DESKTOP, saveScreenshots } from './fixtures/screenshots.ts';
import { findImageSignatures, TrafficRecorder } from './fixtures/traffic-recorder.ts';

const CLASSES = ['glioma', 'meningioma', 'no tumor', 'pituitary'];
const ROUNDS = 3;

interface Hospital {
  readonly name: string;
  readonly folderNames: readonly string[];
  readonly device: 'webgpu' | 'wasm';
  folder?: HospitalFolder;
  context?: BrowserContext;
  page?: HospitalPage;
  traffic?: TrafficRecorder;
}

const HOSPITALS: Hospital[] = [
  { name: 'Hospital A', folderNames: CLASSES, device: 'webgpu' },
  // Folder names as in the paper's MRI data set: the page maps them onto the federation's classes.
  { name: 'Hospital B', folderNames: ['glioma_tumor', 'meningioma_tumor', 'no_tumor', 'pituitary_tumor'], device: 'wasm' },
  { name: 'Hospital C', folderNames: ['Glioma', 'Meningioma', 'No Tumor', 'Pituitary'], device: 'wasm' },
];

let coordinator: RunningCoordinator;
let imagesRoot: string;

test.beforeAll(async () => {
  imagesRoot = mkdtempSync(join(tmpdir(), 'facmic-e2e-images-'));
  HOSPITALS.forEach((hospital, index) => {
    hospital.folder = writeHospitalFolder(imagesRoot, { site: `site-${index + 1}`, folderNames: hospital.folderNames, perClass: 6 });
  });
  coordinator = await startCoordinator();
});

test.afterAll(async () => {
  for (const hospital of HOSPITALS) await hospital.context?.close();
  await coordinator.stop();
  rmSync(imagesRoot, { recursive: true, force: true });
});

async function openHospital(browser: Browser, hospital: Hospital, invite: string): Promise<HospitalPage> {
  const context = await browser.newContext({ viewport: DESKTOP });
  const traffic = new TrafficRecorder();
  traffic.watch(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => {
    console.log(`[${hospital.name}] page error: ${error.message}`);
  });
  const link = hospital.device === 'webgpu' ? `${invite}&device=webgpu` : invite;
  const hospitalPage = new HospitalPage(page);
  await hospitalPage.open(link);
  hospital.context = context;
  hospital.traffic = traffic;
  hospital.page = hospitalPage;
  return hospitalPage;
}

test('three browser hospitals finish a federation; images never leave the page', async ({ browser }) => {
  test.setTimeout(9 * 60_000);

  // The detector itself must see an image, or its silence below would prove nothing.
  const sample = HOSPITALS[0]?.folder?.sampleImage ?? '';
  expect(findImageSignatures(new Uint8Array(readFileSync(sample)), sample).map((h) => h.format)).toContain('PNG');

  // The admin creates the federation and one invite per hospital through the dashboard.
  const adminContext = await browser.newContext({ viewport: DESKTOP });
  const adminPage = await adminContext.newPage();
  const admin = new AdminDashboard(adminPage);
  await admin.open(coordinator.url, coordinator.adminToken);
  await admin.createFederation({
    name: 'E2E brain MRI',
    classes: CLASSES,
    rounds: ROUNDS,
    quorum: 3,
    deadlineSeconds: 600,
    localEpochs: 1,
    stepsPerRound: 3,
    batchSize: 8,
    referenceCount: 16,
    globalTestPerClass: 4,
  });
  const invites: string[] = [];
  for (const hospital of HOSPITALS) invites.push(await admin.createInvite(hospital.name));

  // Each hospital opens its invite and sees the federation before choosing anything.
  for (const [index, hospital] of HOSPITALS.entries()) {
    const page = await openHospital(browser, hospital, invites[index] ?? '');
    await expect(page.page.getByTestId('federation-overview')).toContainText('glioma, meningioma, no tumor, pituitary');
    await expect(page.page.getByTestId('federation-overview')).toContainText('Never leaves this browser');
    await expect(page.page.getByTestId('encoder-device')).toContainText(hospital.device === 'webgpu' ? 'WebGPU' : 'WASM', { timeout: 60_000 });
    await expect(page.page.getByTestId('tfjs-backend')).toContainText(hospital.device === 'webgpu' ? 'WebGPU' : 'WASM');
  }

  // They choose their folders; names that differ from the classes are mapped, awkward files are listed.
  for (const hospital of HOSPITALS) {
    const page = hospital.page!;
    await page.page.getByTestId('folder-input').setInputFiles(hospital.folder!.dir);
    await expect(page.page.getByTestId('class-mapping')).toBeVisible();
    for (const [index, folderName] of hospital.folderNames.entries()) {
      await expect(page.page.getByLabel(`Class for folder ${folderName}`)).toHaveValue(String(index));
    }
    await page.page.getByText(/file will be left out/).click();
    await expect(page.page.getByTestId('ignored-files')).toContainText('README.txt');
    await page.page.getByRole('button', { name: /^Prepare \d+ images and join$/ }).click();
  }
  for (const hospital of HOSPITALS) {
    const page = hospital.page!;
    await page.waitUntilTakingPart();
    // Every readable image went through the encoder once; the broken file is reported, not fatal.
    expect(await page.encodedThisSession()).toBe(hospital.folder!.imageCount);
    await expect(page.page.getByTestId('dataset-summary')).toContainText('1 file could not be read');
  }

  // Mid-federation: the dashboard shows the hospitals taking part.
  await admin.expectRound(`2 / ${ROUNDS}`, 240_000);
  await saveScreenshots(adminPage, 'dashboard');
  const hospitalB = HOSPITALS[1]!;
  await saveScreenshots(hospitalB.page!.page, 'hospital');

  // Hospital B's tab is reloaded: it resumes from this browser's saved features and as the same site.
  const totalB = hospitalB.folder!.imageCount;
  await hospitalB.page!.page.reload();
  await hospitalB.page!.waitUntilTakingPart(120_000);
  expect(await hospitalB.page!.encodedThisSession()).toBe(0);
  expect(await hospitalB.page!.fromCache()).toBe(totalB);
  await expect(admin.page.getByTestId('site-row')).toHaveCount(3);
  await admin.showWholeAuditLog();
  await expect(admin.auditEntries('site.joined')).toHaveCount(3);
  await expect(admin.auditEntries('site.joined').filter({ hasText: 'Hospital B' })).toHaveCount(1);

  // All three finish the federation.
  for (const hospital of HOSPITALS) await hospital.page!.waitForFinished(300_000);
  await admin.expectRound(`${ROUNDS} / ${ROUNDS}`);
  await expect(adminPage.getByTestId('federation-view')).toContainText('finished');
  for (const hospital of HOSPITALS) {
    await expect(admin.siteRow(hospital.name).getByTestId('site-submissions')).toHaveText(String(ROUNDS));
  }

  // The dashboard shows every site's metrics and the global curve: one value per round and per hospital.
  await expect(adminPage.getByTestId('global-accuracy')).not.toHaveText('–');
  const globalChart = adminPage.locator('figure', { hasText: 'Global model on the global test set' });
  await globalChart.getByText('Show the numbers').click();
  await expect(globalChart.locator('tbody tr')).toHaveCount(ROUNDS);
  const siteChart = adminPage.locator('figure', { hasText: 'its trained model on its test images' });
  for (const hospital of HOSPITALS) await expect(siteChart.locator('.chart-legend')).toContainText(hospital.name);
  await siteChart.getByText('Show the numbers').click();
  await expect(siteChart.locator('tbody tr')).toHaveCount(ROUNDS);
  await expect(siteChart.locator('tbody td', { hasText: '–' })).toHaveCount(0);

  // A hospital downloads its report: one row per round.
  const [report] = await Promise.all([HOSPITALS[0]!.page!.page.waitForEvent('download'), HOSPITALS[0]!.page!.page.getByRole('button', { name: 'Download report (CSV)' }).click()]);
  const csv = readFileSync(await report.path(), 'utf8').trim().split('\r\n');
  expect(csv[0]).toMatch(/^federation,site,round,global_model_accuracy,global_model_balanced_accuracy,local_model_accuracy/);
  expect(csv.slice(1).map((line) => line.split(',')[2])).toEqual(['1', '2', '3']);

  // A hospital classifies an image with the final global model: probabilities over the classes summing to 1.
  const probabilities = await HOSPITALS[2]!.page!.classify(HOSPITALS[2]!.folder!.sampleImage);
  expect(probabilities).toHaveLength(CLASSES.length);
  expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);

  // No image left any hospital page, and what left is far smaller than the images.
  const weightsBytes = encodedTensorsByteLength(moduleTensorSpec('facmic', 512));
  for (const hospital of HOSPITALS) {
    const traffic = hospital.traffic!;
    expect(traffic.hits, `${hospital.name}: image signatures in what the page sent`).toEqual([]);
    // The recorder saw the weight uploads (so its silence above means something)...
    expect(traffic.uploadedBytes, `${hospital.name}: bytes sent`).toBeGreaterThanOrEqual(ROUNDS * weightsBytes);
    // ...and everything sent is far below the images' size.
    expect(traffic.uploadedBytes, `${hospital.name}: bytes sent vs ${hospital.folder!.totalBytes} bytes of images`).toBeLessThan(hospital.folder!.totalBytes / 5);
  }
  console.log(
    HOSPITALS.map((h) => `${h.name}: sent ${h.traffic!.uploadedBytes} bytes in ${h.traffic!.requests} requests and ${h.traffic!.framesSent} frames; images ${h.folder!.totalBytes} bytes`).join('\n'),
  );
  await adminContext.close();
});

test('a hospital rides out a dropped connection (the coordinator restarts) and finishes', async ({ browser }) => {
  test.setTimeout(4 * 60_000);
  const headers = { authorization: `Bearer ${coordinator.adminToken}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${coordinator.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    expect(response.ok, `${path}: ${response.status}`).toBe(true);
    return (await response.json()) as unknown;
  };
  const rounds = 12;
  const federation = (await post('/api/federations', {
    name: 'E2E network drop',
    classNames: ['glioma', 'pituitary'],
    rounds,
    quorum: 1,
    roundDeadlineSeconds: 600,
    training: { stepsPerRound: 2, batchSize: 8 },
    reference: { kind: 'generated', count: 8 },
  })) as { summary: { id: string } };
  const invite = (await post(`/api/federations/${federation.summary.id}/invites`, { name: 'Hospital D' })) as { link: string; site: { id: string } };

  // A demo hospital: its images are generated in the page, so nothing has to be chosen.
  const context = await browser.newContext({ viewport: DESKTOP });
  const traffic = new TrafficRecorder();
  traffic.watch(context);
  const hospital = new HospitalPage(await context.newPage());
  await hospital.open(`${invite.link}&demo=0`);
  await expect(hospital.activity()).toContainText(/^Round \d+/, { timeout: 120_000 });

  // The connection drops for a while: the page says so and keeps its work.
  await coordinator.restart(3000);
  await expect(hospital.page.getByText('Connection lost', { exact: true })).toBeVisible({ timeout: 30_000 });
  await hospital.waitForFinished(180_000);
  await expect(hospital.page.getByTestId('round-counter')).toHaveText(`Round ${rounds} of ${rounds}`);
  await expect(hospital.page.getByText('Connection lost', { exact: true })).toHaveCount(0);

  // Still one site, joined once, with an accepted update for every round.
  const audit = (await (await fetch(`${coordinator.url}/api/audit?federationId=${federation.summary.id}&limit=1000`, { headers })).json()) as { entries: { action: string }[] };
  expect(audit.entries.filter((e) => e.action === 'site.joined')).toHaveLength(1);
  const sites = (await (await fetch(`${coordinator.url}/api/federations/${federation.summary.id}/sites`, { headers })).json()) as { sites: { submissions: number }[] };
  expect(sites.sites.map((s) => s.submissions)).toEqual([rounds]);
  expect(traffic.hits).toEqual([]);
  await context.close();
});

test('the dashboard pauses, resumes and stops a federation, revokes an invite and downloads a model', async ({ browser }) => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  const admin = new AdminDashboard(page);
  await admin.open(coordinator.url, coordinator.adminToken);
  await admin.createFederation({ name: 'E2E controls', classes: ['glioma', 'pituitary'], rounds: 5, quorum: 2, deadlineSeconds: 600, referenceCount: 8 });
  await admin.createInvite('Hospital E');
  const view = page.getByTestId('federation-view');

  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(view.getByText('paused', { exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(view.getByText('waiting for hospitals', { exact: true })).toBeVisible();

  await admin.siteRow('Hospital E').getByRole('button', { name: 'Revoke' }).click();
  await expect(admin.siteRow('Hospital E')).toHaveAttribute('data-activity', 'revoked');
  await expect(admin.auditEntries('invite.revoked')).toHaveCount(1);

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the initial model' }).click()]);
  const bytes = readFileSync(await download.path());
  expect(bytes.subarray(0, 4).toString('latin1')).toBe('FMST');

  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(view.getByText('stopped', { exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Pause' })).toBeDisabled();
  await context.close();
});
