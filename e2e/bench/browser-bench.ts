/**
 * Browser benchmark (not part of `npm test`): one hospital page in Chromium, on each requested device, against the
 * real coordinator (tiny CLIP fixture), with a subset of a real image folder. Reports what the page itself measures:
 * encoding throughput (images/s, wall time from the first file read to the last feature) and local training seconds
 * per round (the site's `trainSeconds`), plus the device and reason the page shows.
 *
 *   npm run build && npm run bench:browser -- [--data ../shared/datasets/brain-tumor-mri/Training] [--per-class 75]
 *                                            [--rounds 3] [--devices wasm,webgpu] [--batch-size 32]
 *
 * Local training uses the paper's settings (a round of 199 steps of 32 images, Adam) unless told otherwise: the
 * training seconds per round are the 199-step round's time in that browser.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { federationDetailSchema, inviteCreatedSchema } from '@facmic/protocol';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.ts';
import { startCoordinator } from '../fixtures/coordinator.ts';
import { HospitalPage } from '../fixtures/hospital-page.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: resolve('..', 'shared', 'datasets', 'brain-tumor-mri', 'Training') },
    'per-class': { type: 'string', default: '75' },
    rounds: { type: 'string', default: '3' },
    devices: { type: 'string', default: 'wasm,webgpu' },
    'batch-size': { type: 'string', default: '32' },
  },
});

const dataDir = resolve(values.data);
const perClass = Number(values['per-class']);
const rounds = Number(values.rounds);
const batchSize = Number(values['batch-size']);
const devices = values.devices.split(',').map((d) => d.trim()) as ('wasm' | 'webgpu')[];
if (!existsSync(dataDir)) {
  console.error(`no image folder at ${dataDir}: pass --data <folder with one sub-folder per class>`);
  process.exit(2);
}

/** The first `perClass` images of each class folder, copied to a temporary folder (sorted names: reproducible). */
function subset(target: string): { classes: string[]; images: number; bytes: number } {
  const classes = readdirSync(dataDir).filter((name) => statSync(join(dataDir, name)).isDirectory()).sort();
  let images = 0;
  let bytes = 0;
  for (const cls of classes) {
    mkdirSync(join(target, cls), { recursive: true });
    const files = readdirSync(join(dataDir, cls)).filter((f) => /\.(png|jpe?g|webp|bmp|gif)$/i.test(f)).sort().slice(0, perClass);
    for (const file of files) {
      copyFileSync(join(dataDir, cls, file), join(target, cls, file));
      images++;
      bytes += statSync(join(dataDir, cls, file)).size;
    }
  }
  return { classes, images, bytes };
}

async function api(url: string, token: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

const work = mkdtempSync(join(tmpdir(), 'facmic-bench-'));
const folder = join(work, 'images');
const data = subset(folder);
console.log(`images: ${data.images} (${perClass} per class of ${data.classes.join(', ')}), ${(data.bytes / 1e6).toFixed(1)} MB, from ${dataDir}`);

const coordinator = await startCoordinator();
const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH,
  args: CHROMIUM_ARGS,
});
const chromiumVersion = browser.version();
const results: string[] = [];
try {
  for (const device of devices) {
    const detail = federationDetailSchema.parse(
      await api(coordinator.url, coordinator.adminToken, '/api/federations', {
        name: `bench ${device}`,
        classNames: data.classes.map((c) => c.replace(/_/g, ' ')),
        rounds,
        quorum: 1,
        roundDeadlineSeconds: 3600,
        training: { batchSize },
        reference: { kind: 'generated', count: 64 },
        globalTest: null,
      }),
    );
    const invite = inviteCreatedSchema.parse(await api(coordinator.url, coordinator.adminToken, `/api/federations/${detail.summary.id}/invites`, { name: `bench ${device}` }));
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = new HospitalPage(await context.newPage());
    await page.open(`${invite.link}&device=${device}`);
    await page.page.getByTestId('folder-input').setInputFiles(folder);
    await page.page.getByRole('button', { name: /^Prepare \d+ images and join$/ }).click();
    await page.waitUntilTakingPart(30 * 60_000);
    const rate = page.page.getByTestId('encode-rate');
    const seconds = Number(await rate.getAttribute('data-seconds'));
    const encoded = Number(await rate.getAttribute('data-images'));
    // textContent, not innerText: the device facts sit in a collapsed <details>, where innerText is empty. One part
    // per child (the device, its badge, the reason), joined with a separator.
    const fact = (testId: string) =>
      page.page.getByTestId(testId).evaluate((el) => Array.from(el.childNodes, (n) => (n.textContent ?? '').trim()).filter((t) => t !== '').join(' | '));
    const encoderDevice = await fact('encoder-device');
    const tfjsBackend = await fact('tfjs-backend');
    await page.waitForFinished(60 * 60_000);
    const trainSeconds = await page.page.evaluate(() => {
      const sessions = JSON.parse(localStorage.getItem('facmic.site.sessions') ?? '[]') as { rounds: { round: number; trainSeconds: number | null; steps: number | null }[] }[];
      return (sessions[0]?.rounds ?? []).map((r) => ({ round: r.round, seconds: r.trainSeconds, steps: r.steps }));
    });
    const summary = (await page.page.getByTestId('dataset-summary').innerText()).replace(/\s+/g, ' ');
    results.push(
      [
        `device ${device}:`,
        `  encoder: ${encoderDevice}`,
        `  training: ${tfjsBackend}`,
        `  encoding: ${encoded} images in ${seconds.toFixed(1)} s = ${(encoded / seconds).toFixed(1)} images/s`,
        `  local training per round (s): ${trainSeconds.map((r) => `r${r.round} ${r.seconds?.toFixed(2) ?? '?'} (${r.steps ?? '?'} steps)`).join(', ')}`,
        `  ${summary}`,
      ].join('\n'),
    );
    console.log(results[results.length - 1]);
    await context.close();
  }
} finally {
  await browser.close();
  await coordinator.stop();
  rmSync(work, { recursive: true, force: true });
}
console.log(`\nChromium ${chromiumVersion}, ${data.images} images, batch ${batchSize}, ${rounds} rounds\n${results.join('\n')}`);
