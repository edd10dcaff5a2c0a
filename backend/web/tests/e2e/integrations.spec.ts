// Hikvision terminals and iiko (administrators): a terminal at an address where nothing
// listens is added, its failed connection reported, and its connection test says so at once;
// the iiko connection test reports why it failed. Self-contained: the site is created through
// the API.

import { expect, test } from '@playwright/test';
import { admin, api, shot, signIn } from './helpers';

const suffix = `i${Date.now().toString(36)}`;
// Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
const nowhere = 'http://127.0.0.1:9';

test.describe.configure({ mode: 'serial' });

test('the admin adds a Hikvision terminal and sees its failed connection', async ({ page }) => {
  await signIn(page, admin.login, admin.password);
  await expect(page.getByRole('heading', { name: 'Today' })).toBeVisible();
  const site = await api(page, 'POST', '/api/v1/sites', {
    name: `Gate site ${suffix}`, time_zone: 'Asia/Dushanbe', geofence: { type: 'circle', latitude: 38.56, longitude: 68.78, radius_m: 200 },
  });
  expect(site.status).toBe(201);
  await page.getByRole('link', { name: 'Hikvision terminals' }).click();
  await page.getByRole('button', { name: 'Add terminal' }).click();
  const form = page.getByRole('form', { name: 'Terminal' });
  await form.getByLabel('Terminal name').fill(`Gate ${suffix}`);
  await form.getByLabel('Address (http or https)').fill(nowhere);
  await form.getByLabel('Terminal user').fill('admin');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByText('Required')).toBeVisible();
  await form.getByLabel('Terminal password').fill('terminal-secret');
  await form.getByLabel('Site').selectOption({ label: `Gate site ${suffix}` });
  await form.getByRole('button', { name: 'Save' }).click();

  const card = page.getByRole('region', { name: `Gate ${suffix}` });
  await expect(card.getByText('Connection failed', { exact: true })).toBeVisible({ timeout: 30_000 });
  await expect(card.getByRole('alert')).toContainText('The last connection failed');
  await shot(page, 'terminals');
  await card.getByRole('button', { name: `Poll now Gate ${suffix}` }).click();
  await expect(page.getByText('A poll is queued')).toBeVisible();

  // The synchronous test says at once, in plain words, that nothing answers there.
  await card.getByRole('button', { name: `Test connection Gate ${suffix}` }).click();
  const outcome = card.getByRole('alert').filter({ hasText: 'The connection test failed' });
  await expect(outcome).toContainText('The terminal could not be reached');

  // The password is write-only: an edit shows it empty and keeps it unless a new one is typed.
  await card.getByRole('button', { name: `Edit Gate ${suffix}` }).click();
  const edit = page.getByRole('form', { name: 'Terminal' });
  await expect(edit.getByLabel('Terminal password')).toHaveValue('');
  await edit.getByLabel('Terminal name').fill(`Gate ${suffix} east`);
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('region', { name: `Gate ${suffix} east` })).toBeVisible();
  const list = await api(page, 'GET', '/api/v1/terminals');
  expect(JSON.stringify(list.body)).not.toContain('terminal-secret');

  // The call log shows the failed call.
  await page.getByRole('region', { name: `Gate ${suffix} east` }).getByRole('button', { name: `Call log Gate ${suffix} east` }).click();
  const log = page.getByRole('dialog').getByRole('table', { name: 'Call log' });
  await expect(log.getByRole('row').nth(1)).toBeVisible();
});

test('the iiko connection test reports why it failed', async ({ page }) => {
  await signIn(page, admin.login, admin.password);
  await page.getByRole('link', { name: 'iiko' }).click();
  await expect(page.getByText('No iiko connection yet')).toBeVisible();
  const form = page.getByRole('form', { name: 'iiko connection' });
  await form.getByLabel('iikoServer address').fill(nowhere);
  await form.getByLabel('iiko login').fill('faceid');
  await form.getByLabel('iiko password').fill('iiko-secret');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Saved')).toBeVisible();
  await form.getByRole('button', { name: 'Test connection' }).click();
  const result = form.getByRole('alert');
  await expect(result).toContainText('The connection failed');
  await expect(result).toContainText('The server could not be reached');
  await shot(page, 'iiko');
  await page.getByRole('tab', { name: 'Run log' }).click();
  await expect(page.getByRole('table', { name: 'Run log' }).getByRole('row').nth(1)).toContainText('network');
});
