/**
 * A federation on CLIP ViT-B/16 at real size (the generated `facmic-clip-vit-b16-random`, made here when missing:
 * about 20 s) in its recommended dtype, q8: the coordinator mirrors the model, two browser hospitals of 20 images
 * each download only the q8 vision tower (89 MB, never the text tower or the tokenizer), encode their folders and
 * finish 2 rounds. Today's round settings (a few steps per round) keep it short; the encoding dominates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type BrowserContext } from '@playwright/test';
import { ensureVitClip } from '@facmic/encoder/node';
import { AdminDashboard } from './fixtures/admin-dashboard.ts';
import { startCoordinator, type RunningCoordinator } from './fixtures/coordinator.ts';
import { HospitalPage } from './fixtures/hospital-page.ts';
import { writeHospitalFolder } from './fixtures/hospital-images.ts';
import { DESKTOP } from './fixtures/screenshots.ts';

const CLASSES = ['glioma', 'meningioma', 'no tumor', 'pituitary'];

let coordinator: RunningCoordinator;
let imagesRoot: string;
const contexts: BrowserContext[] = [];

test.beforeAll(async () => {
  test.setTimeout(5 * 60_000);
  const { dir } = await ensureVitClip();
  imagesRoot = mkdtempSync(join(tmpdir(), 'facmic-e2e-vit-'));
  coordinator = await startCoordinator(240_000, { FACMIC_E2E_MODEL_DIR: dir });
});

test.afterAll(async () => {
  for (const context of contexts) await context.close();
  await coordinator.stop();
  rmSync(imagesRoot, { recursive: true, force: true });
});

test('two browser hospitals finish 2 rounds on CLIP ViT-B/16 (q8), loading only the vision tower', async ({ browser }) => {
  test.setTimeout(15 * 60_000);
  const adminContext = await browser.newContext({ viewport: DESKTOP });
  contexts.push(adminContext);
  const admin = new AdminDashboard(await adminContext.newPage());
  await admin.open(coordinator.url, coordinator.adminToken);
  await admin.createFederation({ name: 'E2E ViT-B/16', classes: CLASSES, rounds: 2, quorum: 2, deadlineSeconds: 900, localEpochs: 1, stepsPerRound: 3, batchSize: 8, referenceCount: 8 });

  const hospitals: { page: HospitalPage; requests: string[] }[] = [];
  for (const [index, name] of ['Hospital A', 'Hospital B'].entries()) {
    const invite = await admin.createInvite(name);
    const folder = writeHospitalFolder(imagesRoot, { site: `site-${index + 1}`, folderNames: CLASSES, perClass: 5, awkwardFiles: false });
    const context = await browser.newContext({ viewport: DESKTOP });
    contexts.push(context);
    const requests: string[] = [];
    context.on('request', (request) => {
      if (request.url().includes('/models/')) requests.push(new URL(request.url()).pathname);
    });
    const page = new HospitalPage(await context.newPage());
    await page.open(invite);
    await page.page.getByTestId('folder-input').setInputFiles(folder.dir);
    await page.page.getByRole('button', { name: /^Prepare \d+ images and join$/ }).click();
    hospitals.push({ page, requests });
  }
  for (const { page } of hospitals) {
    // The size is announced before the download.
    await expect(page.page.getByTestId('model-size')).toContainText(/MB download/, { timeout: 120_000 });
  }
  for (const { page } of hospitals) {
    await page.waitUntilTakingPart(10 * 60_000);
    expect(await page.encodedThisSession()).toBe(20);
  }
  for (const { page } of hospitals) await page.waitForFinished(5 * 60_000);
  await admin.expectRound('2 / 2');

  for (const { requests } of hospitals) {
    expect(requests.some((p) => p.endsWith('/onnx/vision_model_quantized.onnx'))).toBe(true);
    expect(requests.filter((p) => p.includes('text_model') || p.includes('tokenizer') || p.endsWith('/onnx/vision_model.onnx'))).toEqual([]);
  }
});
