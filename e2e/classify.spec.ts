/**
 * Classifying an image on the hospital page (issue 12): the chosen image is shown, every result carries its fixed
 * "research use only" note (and, with the generated test model, that the result means nothing), and a model file
 * downloaded from the dashboard (.fmst) classifies in the browser with the network off, exactly as the shared model
 * of the same round does. Saves the screenshot of the classify panel.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { encodePng, generateImages } from '@facmic/encoder';
import { coordinatorForSpec } from './fixtures/coordinator-api.ts';
import { HospitalPage } from './fixtures/hospital-page.ts';
import { DESKTOP, saveScreenshots } from './fixtures/screenshots.ts';

const ROUNDS = 2;

const spec = coordinatorForSpec();
let work: string;

test.beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'facmic-e2e-classify-'));
});

test.afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

async function probabilities(hospital: HospitalPage): Promise<number[]> {
  return hospital.page.getByTestId('classify-probability').evaluateAll((items) => items.map((el) => Number(el.getAttribute('data-probability'))));
}

test('a hospital classifies an image with the shared model, then offline with a downloaded model file', async ({ browser }) => {
  const { api } = spec;
  test.setTimeout(4 * 60_000);
  const federationId = await api.createFederation({
    name: 'E2E classify',
    classNames: ['glioma', 'meningioma', 'pituitary'],
    rounds: ROUNDS,
    quorum: 1,
    roundDeadlineSeconds: 600,
    training: { stepsPerRound: 2, batchSize: 8 },
    reference: { kind: 'generated', count: 8 },
  });
  const invite = await api.createInvite(federationId, 'Hospital F');
  const image = generateImages({ classes: ['glioma', 'meningioma', 'pituitary'], perClass: 1, site: 'classify', seed: 5, size: 128 })[1]!;
  const imagePath = join(work, 'scan-0001.png');
  writeFileSync(imagePath, encodePng({ width: 128, height: 128, color: 'rgba', bitDepth: 8, data: image.image.data }));

  const context = await browser.newContext({ viewport: DESKTOP });
  const hospital = new HospitalPage(await context.newPage());
  await hospital.open(`${invite.link}&demo=0`);
  await hospital.waitForFinished(180_000);
  const panel = hospital.page.getByTestId('classify-panel');
  await expect(panel).toContainText(`the final shared model (after round ${ROUNDS})`);

  // With the shared (final) model: the image is shown beside its result, with the fixed notes.
  const shared = await hospital.classify(imagePath);
  const result = hospital.page.getByTestId('classify-result');
  await expect(result).toContainText(`final model, after round ${ROUNDS}`);
  await expect(result).toContainText('Research use only — not for diagnosis');
  await expect(result).toContainText('test model: this result means nothing');
  await expect(panel.getByRole('img', { name: 'The chosen image: scan-0001.png' })).toBeVisible();
  await saveScreenshots(hospital.page, 'classify-panel', { element: panel });

  // The admin's downloaded model files (.fmst), used with the network off: nothing is fetched.
  const finalFile = join(work, `${federationId}-round-${ROUNDS}.fmst`);
  writeFileSync(finalFile, await api.model(federationId, ROUNDS));
  const initialFile = join(work, `${federationId}-round-0.fmst`);
  writeFileSync(initialFile, await api.model(federationId, 0));
  const brokenFile = join(work, 'broken.fmst');
  writeFileSync(brokenFile, Buffer.from('FMST this is not a model'));
  const requests: string[] = [];
  context.on('request', (request) => {
    // The chosen image is shown from a blob: URL, which is no request to anywhere.
    const url = request.url();
    if (url.startsWith('http') && !url.includes('/socket.io/')) requests.push(url);
  });
  await context.setOffline(true);

  await panel.getByTestId('model-file-input').setInputFiles(finalFile);
  await expect(panel.getByTestId('classify-model')).toContainText(`${federationId}-round-${ROUNDS}.fmst`);
  await hospital.page.getByTestId('classify-input').setInputFiles(imagePath);
  await expect(result).toContainText(`model file ${federationId}-round-${ROUNDS}.fmst`, { timeout: 60_000 });
  await expect(result).toContainText('Research use only — not for diagnosis');
  const fromFile = await probabilities(hospital);
  expect(fromFile).toHaveLength(shared.length);
  fromFile.forEach((p, i) => {
    expect(p).toBeCloseTo(shared[i] ?? Number.NaN, 5);
  });

  await panel.getByTestId('model-file-input').setInputFiles(initialFile);
  await expect(panel.getByTestId('classify-model')).toContainText(`${federationId}-round-0.fmst`);
  await hospital.page.getByTestId('classify-input').setInputFiles(imagePath);
  await expect(result).toContainText(`model file ${federationId}-round-0.fmst`, { timeout: 60_000 });
  expect((await probabilities(hospital)).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);

  // A file that is not a model of this federation is refused in words, and the loaded model stays.
  await panel.getByTestId('model-file-input').setInputFiles(brokenFile);
  await expect(panel.getByText('broken.fmst is not a model file of this federation')).toBeVisible();
  await expect(panel.getByTestId('classify-model')).toContainText(`${federationId}-round-0.fmst`);
  expect(requests).toEqual([]);
  await context.close();
});
