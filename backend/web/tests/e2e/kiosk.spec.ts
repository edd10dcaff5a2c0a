// The kiosk waits for someone before it prompts: its motion-based presence detection
// (src/presence.ts) keeps an empty scene on "Look at the camera" without asking the server for
// a challenge. (panel.spec.ts has the other half: a person arriving in front of the camera is
// prompted, identified and greeted.)

import { chromium, expect, test } from '@playwright/test';
import { admin, api, shot, signIn } from './helpers';

const emptyCamera = process.env.FACEID_E2E_EMPTY_CAMERA;

test('an empty scene in front of the kiosk is not prompted', async ({ page }) => {
  test.skip(!emptyCamera, 'FACEID_E2E_EMPTY_CAMERA: no fake camera (no face models)');
  await signIn(page, admin.login, admin.password);
  await expect(page.getByRole('heading', { name: 'Today' })).toBeVisible();
  const created = await api(page, 'POST', '/api/v1/devices', { name: `Empty hall ${Date.now().toString(36)}` });
  expect(created.status).toBe(201);
  const credential: string = created.body.credential;

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${emptyCamera}`],
  });
  try {
    const tablet = await browser.newPage({ baseURL: test.info().project.use.baseURL, locale: 'en-US' });
    const challenges: string[] = [];
    tablet.on('request', (r) => {
      if (r.url().includes('/api/v1/kiosk/challenges')) challenges.push(r.url());
    });
    await tablet.goto('/kiosk');
    await tablet.getByLabel('Kiosk credential').fill(credential);
    await tablet.getByRole('button', { name: 'Start' }).click();
    // The camera streams…
    await expect.poll(() => tablet.getByLabel('Kiosk', { exact: true }).evaluate((v) => (v as HTMLVideoElement).videoWidth)).toBeGreaterThan(0);
    // …and for several seconds of an empty scene, nobody is prompted and no challenge is asked for.
    for (let i = 0; i < 6; i++) {
      await expect(tablet.getByRole('status')).toHaveText('Look at the camera');
      await tablet.waitForTimeout(1000);
    }
    expect(challenges).toEqual([]);
    await shot(tablet, 'kiosk-empty-scene');
  } finally {
    await browser.close();
  }
});
