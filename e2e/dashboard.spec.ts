/**
 * The dashboard after a whole demo (issue 12): a demo run with three virtual hospitals (Node sites beside the
 * coordinator) runs its 50 rounds, the first paced as the demo is (the dashboard says when the round will really
 * close, not the 60 s deadline), the rest unpaced so the test stays short. At round 50 the network table and the
 * audit log show their latest rows, with "show all", and the log says in words what admins did apart from what
 * rounds did. Saves the screenshot of the dashboard at round 50.
 */
import { expect, test } from '@playwright/test';
import { AdminDashboard } from './fixtures/admin-dashboard.ts';
import { coordinatorForSpec } from './fixtures/coordinator-api.ts';
import { DESKTOP, saveScreenshots } from './fixtures/screenshots.ts';

const spec = coordinatorForSpec();

test('the dashboard stays readable at round 50 of a demo', async ({ browser }) => {
  const { coordinator, api } = spec;
  test.setTimeout(6 * 60_000);
  // 2 steps a round instead of the demo's 199: this checks the dashboard at round 50, not the learning.
  const { run } = await api.request<{ run: { federation: { summary: { id: string; totalRounds: number } } } }>('POST', '/api/demo/runs', { stepsPerRound: 2 });
  const federationId = run.federation.summary.id;
  const rounds = run.federation.summary.totalRounds;
  expect(rounds).toBe(50);

  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const admin = new AdminDashboard(page);
  await admin.open(coordinator.url, coordinator.adminToken);
  await expect(page.getByRole('heading', { name: 'Demo: brain tumor MRI' })).toBeVisible();
  await api.request('POST', `/api/federations/${federationId}/virtual-sites`, { count: 3, samplesPerSite: 8 });

  // A paced round whose updates are all in closes when its 6 s are up, and the dashboard says so.
  await admin.expectRound(`1 / ${rounds}`, 120_000);
  const closes = page.getByTestId('round-closes');
  await expect(closes).toHaveText(/^in \d(\.\d)? s$/, { timeout: 30_000 });
  const seconds = Number((await closes.textContent())?.replace(/[^\d.]/g, ''));
  expect(seconds).toBeLessThanOrEqual(6);

  // The rest of the demo, unpaced, with the dashboard closed (the machine's cores go to the hospitals); then the
  // dashboard is opened again at round 50.
  await api.updateFederation(federationId, { minRoundSeconds: 0 });
  await page.goto('about:blank');
  await expect
    .poll(async () => (await api.request<{ summary: { status: string } }>('GET', `/api/federations/${federationId}`)).summary.status, { timeout: 4 * 60_000, intervals: [1000] })
    .toBe('finished');
  await page.goto(`${coordinator.url}/admin?f=${federationId}`);
  await admin.expectRound(`${rounds} / ${rounds}`);
  await expect(page.getByTestId('federation-view')).toContainText('finished');
  // Every hospital's curve is drawn (the per-site metrics arrive after the rest of the dashboard).
  const siteChart = page.locator('figure', { hasText: 'its trained model on its test images' });
  for (const name of ['Virtual hospital 1', 'Virtual hospital 2', 'Virtual hospital 3']) await expect(siteChart.locator('.chart-legend')).toContainText(name);
  // The demo's reference set is generated, so the coordinator knows its classes and scores the pseudo labels.
  const globalChart = page.locator('figure', { hasText: 'Global model on the global test set' });
  await expect(globalChart.locator('.chart-legend')).toContainText('Pseudo-label accuracy (reference set)');

  const traffic = page.getByTestId('traffic-table');
  await expect(traffic.locator('tbody tr')).toHaveCount(5);
  await expect(traffic.locator('tbody tr').first().locator('th')).toHaveText(String(rounds));
  const audit = page.getByTestId('audit-log');
  await expect(audit.getByRole('heading', { name: 'Admin actions' })).toBeVisible();
  await expect(audit.getByRole('heading', { name: 'Rounds and hospitals' })).toBeVisible();
  await expect(audit.getByTestId('audit-entry').filter({ hasText: 'Added the virtual hospital Virtual hospital 3' })).toHaveCount(1);
  await expect(audit.getByTestId('audit-entry').filter({ hasText: 'Changed the settings: no shortest round' })).toHaveCount(1);
  await expect(audit.getByTestId('audit-entry').filter({ hasText: `Round ${rounds} published` })).toHaveCount(1);
  await expect(audit).not.toContainText('round.published');
  await saveScreenshots(page, 'dashboard-round-50');

  await page.getByRole('button', { name: `Show all ${rounds} rounds` }).click();
  await expect(traffic.locator('tbody tr')).toHaveCount(rounds);
  await context.close();
});
