// Shared by the end-to-end specs: signing in, screenshots, and calls with the panel's own session.

import { expect, type Page } from '@playwright/test';

export const admin = { login: process.env.FACEID_E2E_ADMIN ?? 'admin', password: process.env.FACEID_E2E_PASSWORD ?? '' };
const shots = process.env.FACEID_E2E_SHOTS ?? 'test-results/screenshots';

export async function signIn(page: Page, login: string, password: string) {
  await page.goto('/');
  await page.getByLabel('Login').fill(login);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * The first sign-in of an account an administrator created: the panel shows only the password
 * change until the holder picks their own; `account.password` becomes the new one.
 */
export async function firstSignIn(page: Page, account: { login: string; password: string }) {
  await signIn(page, account.login, account.password);
  const form = page.getByRole('form', { name: 'Change password' });
  await expect(form.getByText('Your password was set by an administrator')).toBeVisible();
  const own = `${account.password}-own`;
  await submitPasswordChange(page, account.password, own);
  await expect(page.getByText('Password changed')).toBeVisible();
  account.password = own;
}

/** Fills and sends the Change password form. */
export async function submitPasswordChange(page: Page, current: string, next: string) {
  const form = page.getByRole('form', { name: 'Change password' });
  await form.getByLabel('Current password').fill(current);
  await form.getByLabel('New password', { exact: true }).fill(next);
  await form.getByLabel('Repeat the new password').fill(next);
  await form.getByRole('button', { name: 'Save' }).click();
}

export async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

export async function api(page: Page, method: string, path: string, body?: unknown) {
  // Uses the panel's own session: a fresh access token through the refresh cookie.
  return page.evaluate(
    async ({ method, path, body }) => {
      const s = await fetch('/api/v1/auth/web/refresh', { method: 'POST', headers: { 'X-FaceID-CSRF': '1' } }).then((r) => r.json());
      const r = await fetch(path, {
        method,
        headers: { Authorization: `Bearer ${s.access_token}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, body: await r.json().catch(() => null) };
    },
    { method, path, body },
  );
}

