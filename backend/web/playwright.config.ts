import { defineConfig } from '@playwright/test';

// Drives Debian's Chromium (never `playwright install`): tests/run.d/web.sh starts a real
// faceid-server against a fresh PostgreSQL database and passes its URL and an admin account.
const camera = process.env.FACEID_E2E_CAMERA;

export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: process.env.FACEID_E2E_URL ?? 'http://127.0.0.1:8080',
    locale: 'en-US',
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium',
      args: [
        '--no-sandbox',
        '--disable-dev-shm-usage',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        '--autoplay-policy=no-user-gesture-required',
        ...(camera ? [`--use-file-for-fake-video-capture=${camera}`] : []),
      ],
    },
  },
});
