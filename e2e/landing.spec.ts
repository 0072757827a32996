/**
 * The landing page as a demo giver uses it, against the real coordinator (tiny CLIP): paste the admin token, start a
 * demo run, open its three demo hospitals (each a tab that generates its own images; the page shows which are open),
 * start a new run while one is going (it asks first; the old run stops and its tab says so), and, once a run is
 * over, the page offers a new one.
 */
import { expect, test } from '@playwright/test';
import { readDemoHospitalIndex } from '@facmic/protocol';
import { startCoordinator, type RunningCoordinator } from './fixtures/coordinator.ts';
import { HospitalPage } from './fixtures/hospital-page.ts';

let coordinator: RunningCoordinator;

test.beforeAll(async () => {
  coordinator = await startCoordinator();
});

test.afterAll(async () => {
  await coordinator.stop();
});

test('a wrong admin token, then the right one: the error goes, and one sign-in serves every page of the app', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${coordinator.url}/`);
  const panel = page.getByTestId('demo-panel');
  const token = panel.getByLabel('Admin token');
  await token.fill('not-the-admin-token-0123456789');
  await panel.getByRole('button', { name: 'Continue' }).click();
  await expect(panel.getByText('The admin token was not accepted')).toBeVisible();
  await expect.soft(token).toHaveAttribute('aria-invalid', 'true');

  await token.fill(coordinator.adminToken);
  await panel.getByRole('button', { name: 'Continue' }).click();
  await expect(panel.getByRole('button', { name: 'Start a demo run' })).toBeVisible();
  await expect(panel.getByText('The admin token was not accepted')).toHaveCount(0);

  // The dashboard, in this tab and in another tab of the app (a hospital tab's "Dashboard" link), asks nothing again.
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(page.getByLabel('Admin token')).toHaveCount(0);
  const other = await context.newPage();
  await other.goto(`${coordinator.url}/admin`);
  await expect(other.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(other.getByLabel('Admin token')).toHaveCount(0);

  // Signing out signs out every tab.
  await other.getByRole('button', { name: 'Sign out' }).click();
  await expect(other.getByLabel('Admin token')).toBeVisible();
  await expect(page.getByLabel('Admin token')).toBeVisible();
  await context.close();
});

test('a demo giver starts demo runs from the landing page and opens their hospitals', async ({ browser }) => {
  test.setTimeout(4 * 60_000);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.accept();
  });
  await page.goto(`${coordinator.url}/`);
  const panel = page.getByTestId('demo-panel');
  // The image model is explained once.
  await expect(page.getByTestId('landing-model-note')).toContainText('tiny CLIP with random weights');
  await expect(page.getByText('accuracy says nothing about FACMIC')).toHaveCount(0);

  // No demo run yet on this coordinator: the admin token, then one click.
  await expect(panel).toContainText('This coordinator has no demo run yet');
  await panel.getByLabel('Admin token').fill(coordinator.adminToken);
  await panel.getByRole('button', { name: 'Continue' }).click();
  await panel.getByRole('button', { name: 'Start a demo run' }).click();
  await expect(panel.getByTestId('demo-status')).toContainText('Demo: brain tumor MRI: waiting for 2 hospitals to start round 1 of 50', { timeout: 60_000 });
  const hospitals = panel.getByTestId('demo-hospitals').getByRole('link');
  await expect(hospitals).toHaveText(['Open Hospital A', 'Open Hospital B', 'Open Hospital C']);
  const links = await hospitals.evaluateAll((anchors) => anchors.map((a) => (a as HTMLAnchorElement).href));
  expect(links.map((link) => new URL(link).searchParams.get('f'))).toEqual(['demo-brain-tumor', 'demo-brain-tumor', 'demo-brain-tumor']);
  expect(links.map((link) => readDemoHospitalIndex(new URL(link).searchParams))).toEqual([0, 1, 2]);

  // A demo hospital: generated images, no folder to choose, the demo's pace stated.
  const hospital = new HospitalPage(await context.newPage());
  await hospital.open(links[0] ?? '');
  await expect(hospital.page.getByTestId('federation-overview')).toContainText('at least 6 s (paced');
  await expect(hospital.page.getByRole('heading', { name: 'This demo hospital’s images' })).toBeVisible({ timeout: 120_000 });

  // The landing page shows which hospital is open in a tab.
  await expect(panel.getByTestId('demo-status')).toContainText('1 of 3 hospitals online', { timeout: 30_000 });
  await expect(panel.getByTestId('demo-hospitals').getByText('open in a tab')).toHaveCount(1);

  // A new run while this one is going: the page asks, the old run stops (its tab says so), the new one has its hospitals.
  await panel.getByRole('button', { name: 'Start a new demo run' }).click();
  await expect(panel.getByTestId('demo-status')).toContainText('Demo: brain tumor MRI (run 2): waiting for 2 hospitals', { timeout: 60_000 });
  expect(dialogs).toHaveLength(1);
  expect(dialogs[0]).toContain('stops before its first round');
  await expect(hospitals).toHaveCount(3);
  await expect(hospitals.first()).toHaveAttribute('href', /[?&]f=demo-brain-tumor-2&/);
  await expect(hospital.activity()).toContainText('The coordinator stopped the federation.', { timeout: 30_000 });

  // Once the current run is over, starting a new one is the main action.
  const headers = { authorization: `Bearer ${coordinator.adminToken}` };
  expect((await fetch(`${coordinator.url}/api/federations/demo-brain-tumor-2/stop`, { method: 'POST', headers })).status).toBe(200);
  await page.reload();
  await expect(panel.getByText('This demo run is over')).toBeVisible();
  await expect(panel.getByTestId('demo-hospitals')).toHaveCount(0);
  await expect(panel.getByRole('button', { name: 'Start a new demo run' })).toHaveCount(1);
  const listed = (await (await fetch(`${coordinator.url}/api/federations`, { headers })).json()) as { federations: { id: string; status: string }[] };
  expect(listed.federations.map((f) => `${f.id} ${f.status}`).sort()).toEqual(['demo-brain-tumor stopped', 'demo-brain-tumor-2 stopped']);
  await context.close();
});
