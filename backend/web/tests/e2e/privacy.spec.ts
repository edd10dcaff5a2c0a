// My data and the privacy queues: an employee downloads their export and files a correction
// and an erasure request; an operator accepts the correction and the corrected punch shows;
// an administrator approves the erasure through its confirmation. Self-contained: the people
// are created through the API with the admin's session.

import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { admin, api, firstSignIn, shot, signIn } from './helpers';

const suffix = `p${Date.now().toString(36)}`;
const employee = { login: `nina.${suffix}`, password: 'Employee-pass-2026', first: 'Nina', last: `Karimova${suffix}` };
const operator = { login: `rustam.${suffix}`, password: 'Operator-pass-2026' };
// Lists by id name people `Last First`; the correction queue answers the server's `First Last`.
const name = `${employee.last} ${employee.first}`;
const asFiled = `${employee.first} ${employee.last}`;

test.describe.configure({ mode: 'serial' });

// Any picture does for a profile photo: one of the README's screenshots.
const picture = new URL('../../../../docs/screenshots/web-today.png', import.meta.url).pathname;

/** `YYYY-MM-DDTHH:MM` of a minute ago, local time (a `datetime-local` value). */
function aMinuteAgo(): string {
  const d = new Date(Date.now() - 60_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

test('the admin sets up a department with an employee and an operator', async ({ page }) => {
  await signIn(page, admin.login, admin.password);
  await expect(page.getByRole('heading', { name: 'Today' })).toBeVisible();
  const dep = await api(page, 'POST', '/api/v1/departments', { name: `Hall ${suffix}` });
  expect(dep.status).toBe(201);
  const e = await api(page, 'POST', '/api/v1/employees', {
    login: employee.login, password: employee.password, first_name: employee.first, last_name: employee.last, role: 'user', department_id: dep.body.id,
  });
  expect(e.status).toBe(201);
  const o = await api(page, 'POST', '/api/v1/employees', {
    login: operator.login, password: operator.password, first_name: 'Rustam', last_name: `Operator${suffix}`, role: 'operator', scope: { department_ids: [dep.body.id], site_ids: [] },
  });
  expect(o.status).toBe(201);
});

test('the employee downloads their data and files a correction and an erasure request', async ({ page }) => {
  await firstSignIn(page, employee);
  await page.getByRole('link', { name: 'My data' }).click();
  await expect(page.getByRole('heading', { name: 'My data', level: 2 })).toBeVisible();

  const download = page.waitForEvent('download', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Download my data (ZIP)' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/\.zip$/);
  const bytes = readFileSync(await file.path());
  expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');

  const form = page.getByRole('form', { name: 'Request a correction' });
  await form.getByRole('button', { name: 'Send the correction request' }).click();
  await expect(form.getByText('Required').first()).toBeVisible();
  await form.getByLabel('What is wrong').selectOption('punch');
  await form.getByLabel('Punch to correct').selectOption({ label: 'A missing punch (add one)' });
  await form.getByLabel('Event').selectOption('in');
  await form.getByLabel('Correct time').fill(aMinuteAgo());
  await form.getByLabel('What happened (for the operator)').fill('The kiosk was off this morning');
  await form.getByRole('button', { name: 'Send the correction request' }).click();
  await expect(page.getByText('Correction request sent')).toBeVisible();
  const mine = page.getByRole('table', { name: 'My correction requests' });
  await expect(mine.getByRole('row').nth(1)).toContainText('Waiting');

  const erasure = page.getByRole('form', { name: 'Request erasure' });
  await erasure.getByLabel('What to erase').selectOption('locations');
  await expect(erasure.getByText('location points; location consent withdrawn')).toBeVisible();
  await erasure.getByRole('button', { name: 'Send the erasure request' }).click();
  await expect(page.getByText('Erasure request sent')).toBeVisible();
  await expect(page.getByRole('table', { name: 'My erasure requests' }).getByRole('row').nth(1)).toContainText('Waiting');
  await shot(page, 'my-data');
});

test('an operator accepts the correction and the corrected punch shows', async ({ page }) => {
  await firstSignIn(page, operator);
  await page.getByRole('link', { name: 'Privacy requests' }).click();
  // Erasure requests are the administrators'.
  await expect(page.getByRole('tab', { name: 'Erasure requests' })).toHaveCount(0);
  const queue = page.getByRole('table', { name: 'Correction requests' });
  const row = queue.getByRole('row').filter({ hasText: asFiled });
  await expect(row).toContainText('The kiosk was off this morning');
  await shot(page, 'privacy-queue');
  await row.getByRole('button', { name: `Approve ${asFiled}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Comment').fill('Checked with the shift lead');
  await dialog.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByText('Correction accepted')).toBeVisible();
  await expect(queue.getByRole('row').filter({ hasText: asFiled })).toHaveCount(0);

  await page.getByRole('link', { name: 'Attendance', exact: true }).click();
  const events = page.getByRole('table', { name: 'Attendance' });
  await expect(events.getByRole('row').filter({ hasText: name })).toContainText('correction');
});

test('the admin approves the erasure after a confirmation naming what goes', async ({ page }) => {
  await signIn(page, admin.login, admin.password);
  await page.getByRole('link', { name: 'Privacy requests' }).click();
  await page.getByRole('tab', { name: 'Erasure requests' }).click();
  const table = page.getByRole('table', { name: 'Erasure requests' });
  const row = table.getByRole('row').filter({ hasText: name });
  await expect(row).toContainText('Locations');
  await row.getByRole('button', { name: `Approve erasure ${name}` }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(`Erase for ${name}: location points; location consent withdrawn?`);
  await shot(page, 'erasure-confirmation');
  // Cancel changes nothing.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(row).toContainText('Waiting');
  await row.getByRole('button', { name: `Approve erasure ${name}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Approve erasure' }).click();
  await expect(page.getByText('Erasure approved')).toBeVisible();
  await page.getByLabel('State').selectOption('');
  await expect(table.getByRole('row').filter({ hasText: name })).toContainText(/Approved, erasing|Done/);

  // The employee sees the answers to both requests.
  await page.getByRole('button', { name: 'Log out' }).click();
  // The logout has to land before the next page load, or the refresh cookie signs back in.
  await expect(page.getByLabel('Login')).toBeVisible();
  await signIn(page, employee.login, employee.password);
  await page.getByRole('link', { name: 'My data' }).click();
  await expect(page.getByRole('table', { name: 'My correction requests' }).getByRole('row').nth(1)).toContainText('Accepted');
  await expect(page.getByRole('table', { name: 'My erasure requests' }).getByRole('row').nth(1)).toContainText(/Approved, erasing|Done/);
});

test('the admin exports the employee’s data on their behalf and restricts their tracking; both show', async ({ page }) => {
  await signIn(page, admin.login, admin.password);
  await page.getByRole('link', { name: 'Employees' }).click();
  await page.getByLabel('Search').fill(employee.last);
  await page.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name, level: 2 })).toBeVisible();

  const download = page.waitForEvent('download', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Download the employee’s data (ZIP)' }).click();
  const file = await download;
  expect(readFileSync(await file.path()).subarray(0, 2).toString('latin1')).toBe('PK');

  const card = page.getByRole('region', { name: 'Restrict processing' });
  const tracking = card.getByRole('switch', { name: 'Restrict location tracking' });
  await expect(tracking).not.toBeChecked();
  // The switch shows the server's answer: it turns on once the restriction is stored.
  await tracking.click();
  await expect(tracking).toBeChecked();
  await expect(page.getByText('Tracking restricted')).toBeVisible();
  await expect(page.getByText('Location tracking of this employee is restricted')).toBeVisible();
  await shot(page, 'employee-privacy');

  // A profile photo: uploaded, shown, replaced, removed (any picture; the server re-encodes it).
  const photoCard = page.getByRole('region', { name: 'Profile photo' });
  await expect(photoCard.getByText('No profile photo')).toBeVisible();
  await photoCard.getByLabel('Photo file (JPEG, PNG or WebP)').setInputFiles(picture);
  await photoCard.getByRole('button', { name: 'Upload photo' }).click();
  await expect(page.getByText('Profile photo saved')).toBeVisible();
  await expect(photoCard.getByRole('img', { name: `Photo of ${name}` })).toBeVisible();
  await photoCard.getByLabel('Photo file (JPEG, PNG or WebP)').setInputFiles(picture);
  await photoCard.getByRole('button', { name: 'Replace photo' }).click();
  await expect(photoCard.getByRole('img', { name: `Photo of ${name}` })).toBeVisible();
  await photoCard.getByRole('button', { name: 'Remove photo' }).click();
  await expect(page.getByText('Profile photo removed')).toBeVisible();
  await expect(photoCard.getByText('No profile photo')).toBeVisible();

  // Both the export and the restriction are in the audit log under the employee.
  const id = page.url().split('/').pop()!;
  const audit = await api(page, 'GET', `/api/v1/audit?entity_id=${id}&limit=50`);
  const actions: string[] = audit.body.items.map((a: { action: string }) => a.action);
  expect(actions).toContain('privacy.export');
  expect(actions).toContain('privacy.restriction');

  // The employee sees it on their own screens.
  await page.getByRole('button', { name: 'Log out' }).click();
  // The logout has to land before the next page load, or the refresh cookie signs back in.
  await expect(page.getByLabel('Login')).toBeVisible();
  await signIn(page, employee.login, employee.password);
  await page.getByRole('link', { name: 'Location tracking' }).click();
  await expect(page.getByText('Location tracking is restricted')).toBeVisible();
  await page.getByRole('link', { name: 'My data' }).click();
  await expect(page.getByRole('switch', { name: 'Restrict location tracking' })).toBeChecked();
  // Their own profile photo, kept across a reload (the session carries its version).
  const mine = page.getByRole('region', { name: 'Profile photo' });
  await mine.getByLabel('Photo file (JPEG, PNG or WebP)').setInputFiles(picture);
  await mine.getByRole('button', { name: 'Upload photo' }).click();
  await expect(mine.getByRole('img', { name: `Photo of ${name}` })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('region', { name: 'Profile photo' }).getByRole('img', { name: `Photo of ${name}` })).toBeVisible();
  await shot(page, 'my-data-photo');
});
