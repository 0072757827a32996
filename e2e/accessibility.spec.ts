/**
 * axe-core on the app's three pages, in the states people see them (issue 12): the landing page, the hospital page
 * (join form; an invite before a folder is chosen; taking part after a round), the dashboard (sign-in; a federation
 * with rounds; the create form). No serious or critical violation may remain.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { coordinatorForSpec } from './fixtures/coordinator-api.ts';
import { HospitalPage } from './fixtures/hospital-page.ts';
import { DESKTOP } from './fixtures/screenshots.ts';

const spec = coordinatorForSpec();

/** Serious and critical violations of WCAG 2.1 A/AA and axe's best practices, one line each. */
async function seriousViolations(page: Page, label: string): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  const minor = results.violations.filter((v) => v.impact !== 'serious' && v.impact !== 'critical').map((v) => `${v.id} (${v.impact ?? ''})`);
  console.log(`axe ${label}: ${results.passes.length} rules pass${minor.length > 0 ? `; minor or moderate: ${minor.join(', ')}` : ''}`);
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact ?? ''}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
}

test('/, /site and /admin have no serious or critical accessibility violations', async ({ browser }) => {
  const { coordinator, api } = spec;
  test.setTimeout(4 * 60_000);
  const federationId = await api.createFederation({
    name: 'E2E accessibility',
    classNames: ['glioma', 'pituitary'],
    rounds: 1,
    quorum: 1,
    roundDeadlineSeconds: 600,
    training: { stepsPerRound: 1, batchSize: 8 },
    reference: { kind: 'generated', count: 8 },
    globalTest: { kind: 'generated', perClass: 4 },
  });
  const folderInvite = await api.createInvite(federationId, 'Hospital Folder');
  const demoInvite = await api.createInvite(federationId, 'Hospital Demo');
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();

  await page.goto(`${coordinator.url}/`);
  await expect(page.getByTestId('demo-panel')).toBeVisible();
  expect(await seriousViolations(page, '/ (signed out)'), '/ (signed out)').toEqual([]);
  await page.getByTestId('demo-panel').getByLabel('Admin token').fill(coordinator.adminToken);
  await page.getByTestId('demo-panel').getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('button', { name: 'Start a demo run' })).toBeVisible();
  expect(await seriousViolations(page, '/ (signed in)'), '/ (signed in)').toEqual([]);

  await page.goto(`${coordinator.url}/site`);
  await expect(page.getByRole('heading', { name: 'Join a federation as a hospital' })).toBeVisible();
  expect(await seriousViolations(page, '/site (join form)'), '/site (join form)').toEqual([]);

  const hospital = new HospitalPage(await context.newPage());
  await hospital.open(folderInvite.link);
  await expect(hospital.page.getByText('Choose a folder…')).toBeVisible({ timeout: 60_000 });
  expect(await seriousViolations(hospital.page, '/site (before a folder is chosen)'), '/site (before a folder is chosen)').toEqual([]);
  await hospital.page.close();

  const demo = new HospitalPage(await context.newPage());
  await demo.open(`${demoInvite.link}&demo=1`);
  await demo.waitForFinished(180_000);
  expect(await seriousViolations(demo.page, '/site (federation complete)'), '/site (federation complete)').toEqual([]);

  const admin = await context.newPage();
  await admin.goto(`${coordinator.url}/admin?f=${federationId}`);
  await expect(admin.getByRole('heading', { name: 'E2E accessibility' })).toBeVisible();
  await expect(admin.getByTestId('global-accuracy')).not.toHaveText('–');
  expect(await seriousViolations(admin, '/admin (a federation after its round)'), '/admin (a federation after its round)').toEqual([]);
  await admin.getByRole('button', { name: 'New federation' }).click();
  await admin.getByTestId('create-federation-form').getByRole('button', { name: 'Create federation' }).click();
  expect(await seriousViolations(admin, '/admin (create form with errors)'), '/admin (create form with errors)').toEqual([]);
  await admin.getByRole('button', { name: 'Sign out' }).click();
  await expect(admin.getByLabel('Admin token')).toBeVisible();
  expect(await seriousViolations(admin, '/admin (sign-in)'), '/admin (sign-in)').toEqual([]);
  await context.close();
});
