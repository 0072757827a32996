/**
 * What a new clinician and a new admin trip over on first use (issue 12), each against the real coordinator (tiny
 * CLIP): duplicate files in a folder, folders that match no class, a mistyped or revoked invite, an empty
 * create-federation form, a revoked invite link, an empty federation's network line. Saves the screenshots of the
 * hospital page before a folder is chosen and of the form with field errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { AdminDashboard } from './fixtures/admin-dashboard.ts';
import { coordinatorForSpec } from './fixtures/coordinator-api.ts';
import { writeFolderWithCopies, writeHospitalFolder } from './fixtures/hospital-images.ts';
import { HospitalPage } from './fixtures/hospital-page.ts';
import { DESKTOP, saveScreenshots } from './fixtures/screenshots.ts';

const CLASSES = ['glioma', 'pituitary'] as const;

const spec = coordinatorForSpec();
let imagesRoot: string;

test.beforeAll(() => {
  imagesRoot = mkdtempSync(join(tmpdir(), 'facmic-e2e-first-use-'));
});

test.afterAll(() => {
  rmSync(imagesRoot, { recursive: true, force: true });
});

/** A small federation of the two classes that any single hospital can run. */
async function smallFederation(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  return spec.api.createFederation({
    name,
    classNames: [...CLASSES],
    rounds: 1,
    quorum: 1,
    roundDeadlineSeconds: 600,
    training: { stepsPerRound: 1, batchSize: 8 },
    reference: { kind: 'generated', count: 8 },
    ...extra,
  });
}

async function freshHospital(browser: Browser, link: string): Promise<HospitalPage> {
  // A new context: a brand-new browser profile (empty IndexedDB, no saved session).
  const context = await browser.newContext({ viewport: DESKTOP });
  const hospital = new HospitalPage(await context.newPage());
  await hospital.open(link);
  return hospital;
}

test('exact copies in a folder are counted as copies, not as images this browser stored before', async ({ browser }) => {
  test.setTimeout(3 * 60_000);
  const federationId = await smallFederation('E2E copies');
  const invite = await spec.api.createInvite(federationId, 'Hospital Copies');
  const folder = writeFolderWithCopies(imagesRoot, { site: 'copies', classes: CLASSES, perClass: 10 });
  const hospital = await freshHospital(browser, invite.link);
  const page = hospital.page;

  await page.getByTestId('folder-input').setInputFiles(folder.dir);
  const chooser = page.getByTestId('image-chooser');
  await expect.soft(chooser.getByTestId('copies-summary')).toContainText(`${folder.copiesWithinClass} files are exact copies of other files`, { timeout: 30_000 });
  // The same image filed under two classes is a data problem the hospital should fix: listed, and left out.
  const twoClasses = chooser.getByTestId('images-in-two-classes');
  await expect.soft(twoClasses).toContainText(folder.inTwoClasses[0]);
  await expect.soft(twoClasses).toContainText(folder.inTwoClasses[1]);
  await page.getByRole('button', { name: /^Prepare \d+ images and join$/ }).click();
  await hospital.waitUntilTakingPart();

  // A brand-new profile has stored nothing: every distinct image is encoded here, once.
  expect(await hospital.fromCache()).toBe(0);
  expect(await hospital.encodedThisSession()).toBe(folder.usable);
  await page.context().close();
});

test('a folder whose sub-folders match no class says so, and lets the hospital match them', async ({ browser }) => {
  const federationId = await smallFederation('E2E unmatched folders');
  const invite = await spec.api.createInvite(federationId, 'Hospital Unmatched');
  const folder = writeHospitalFolder(imagesRoot, { site: 'unmatched', folderNames: ['scans 2021', 'scans 2022'], perClass: 3, renderSize: 64, upscale: 1, awkwardFiles: false });
  const hospital = await freshHospital(browser, invite.link);
  const page = hospital.page;

  // Before anything is chosen, the next action is on screen without scrolling; the federation's details beside it.
  await expect.soft(page.getByText('Choose a folder…')).toBeInViewport();
  await saveScreenshots(page, 'hospital-before-folder', { fullPage: false });

  await page.getByTestId('folder-input').setInputFiles(folder.dir);
  await expect(page.getByTestId('class-mapping')).toBeVisible();
  const chooser = page.getByTestId('image-chooser');
  await expect(chooser).toContainText('None of the folder names match the federation’s classes');
  await expect(chooser).not.toContainText('You can still take part');
  const prepare = page.getByRole('button', { name: /^Prepare \d+ images and join$/ });
  await expect(prepare).toBeDisabled();
  await page.getByLabel('Class for folder scans 2021').selectOption({ label: 'glioma' });
  await page.getByLabel('Class for folder scans 2022').selectOption({ label: 'pituitary' });
  await expect(prepare).toBeEnabled();
  await expect(chooser).not.toContainText('None of the folder names match');
  await page.context().close();
});

test('a mistyped or revoked invite says what is wrong and asks the coordinator nothing more', async ({ browser }) => {
  const federationId = await smallFederation('E2E bad invites');
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();

  await page.goto(`${spec.coordinator.url}/site?f=${federationId}&t=this-token-was-mistyped-123`);
  await expect(page.getByText('This hospital cannot take part right now')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByText('The invite is not valid for this federation')).toBeVisible();
  await expect(page.getByText('Asking the coordinator for the federation’s details')).toHaveCount(0);

  const invite = await spec.api.createInvite(federationId, 'Hospital Revoked');
  await spec.api.revokeInvite(federationId, invite.site.id);
  await page.goto(invite.link);
  await expect(page.getByText('The admin revoked this hospital’s invite')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByText('Asking the coordinator for the federation’s details')).toHaveCount(0);
  await context.close();
});

test('an empty create-federation form marks its fields in words, where the admin is looking', async ({ browser }) => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const admin = new AdminDashboard(await context.newPage());
  await admin.open(spec.coordinator.url, spec.coordinator.adminToken);
  const page = admin.page;
  await page.getByRole('button', { name: 'New federation' }).click();
  const form = page.getByTestId('create-federation-form');
  await form.getByRole('button', { name: 'Create federation' }).click();

  // Sentences, not the schema's words.
  await expect(form.getByRole('button', { name: 'Create federation' })).toBeEnabled();
  await expect(form).not.toContainText('Too small');
  await expect(form).not.toContainText('classNames');
  const name = form.getByLabel('Name', { exact: true });
  const classes = form.getByLabel('Classes', { exact: true });
  await expect(name).toHaveAttribute('aria-invalid', 'true');
  await expect(classes).toHaveAttribute('aria-invalid', 'true');
  await expect(name).toHaveAccessibleDescription(/Give the federation a name/);
  await expect(classes).toHaveAccessibleDescription(/at least two classes/);
  // The first field to fix has the focus, so it is in view.
  await expect(name).toBeFocused();
  await expect(name).toBeInViewport();
  await saveScreenshots(page, 'create-form-errors', { fullPage: false });

  // Fixing a field clears its error.
  await name.fill('Brain MRI');
  await expect(name).not.toHaveAttribute('aria-invalid', 'true');
  await context.close();
});

test('a revoked invite is no longer offered in the shown-once panel', async ({ browser }) => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  const admin = new AdminDashboard(page);
  await admin.open(spec.coordinator.url, spec.coordinator.adminToken);
  await admin.createFederation({ name: 'E2E revoke', classes: [...CLASSES], rounds: 2, quorum: 1, deadlineSeconds: 600, referenceCount: 8 });
  await admin.createInvite('Hospital Kept');
  await admin.createInvite('Hospital Gone');
  await admin.siteRow('Hospital Gone').getByRole('button', { name: 'Revoke' }).click();
  await expect(admin.siteRow('Hospital Gone')).toHaveAttribute('data-activity', 'revoked');
  await expect(page.getByTestId('invite-link-item').filter({ hasText: 'Hospital Gone' })).toHaveCount(0);
  await expect(page.getByTestId('invite-link-item').filter({ hasText: 'Hospital Kept' })).toHaveCount(1);
  await context.close();
});

test('an empty federation does not claim it moved 0 B instead of 0 B', async ({ browser }) => {
  const federationId = await smallFederation('E2E empty network');
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  await page.goto(`${spec.coordinator.url}/admin?f=${federationId}#token=${encodeURIComponent(spec.coordinator.adminToken)}`);
  const traffic = page.locator('section', { has: page.getByRole('heading', { name: 'What goes over the network' }) });
  await expect(traffic).toBeVisible();
  await expect(traffic).toContainText('Each hospital sends');
  await expect(traffic).not.toContainText('instead of 0 B');
  await expect(traffic).not.toContainText('– less');
  await context.close();
});
