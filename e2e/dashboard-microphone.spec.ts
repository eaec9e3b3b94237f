/**
 * The dashboard's microphone path end to end: Chromium's fake capture device plays the speech
 * sample made at set-up (in a loop), through getUserMedia, the AudioWorklet that frames it at
 * 16 kHz, and Silero VAD. A file of its own: the browser needs launch flags the other tests do not.
 */
import { join } from 'node:path';
import { test, expect } from './fixtures.js';
import { CHROMIUM_ARGS, findChromium } from '../scripts/browser.mjs';
import { MODELS_DIR } from '../scripts/models.mjs';

test.use({
  launchOptions: {
    executablePath: findChromium(),
    args: [...CHROMIUM_ARGS, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${join(MODELS_DIR, 'samples', 'speech.wav')}`],
  },
});

test('the microphone streams into VAD: speech is heard while the sample speaks, silence in its pauses', async ({ page, request }, testInfo) => {
  await request.post('/__control/reset');
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/?autorun=0');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 });
  await page.click('#mic');
  const status = page.locator('#mic-status');
  // The sample is about 9 s long, with speech from 1 s: both must come round within two loops of it.
  await expect(status).toHaveAttribute('data-speech', 'true', { timeout: 20_000 });
  await expect(status).toHaveAttribute('data-speech', 'false', { timeout: 20_000 });
  await expect(status).toHaveAttribute('data-speech', 'true', { timeout: 20_000 });
  const points = ((await page.locator('#mic-chart polyline[data-series="probability"]').getAttribute('points')) ?? '').split(' ');
  expect(points.length).toBeGreaterThan(30);
  const path = testInfo.outputPath('microphone.png');
  await page.locator('#vad-panel').screenshot({ path });
  await testInfo.attach('microphone', { path, contentType: 'image/png' });
  await page.click('#mic');
  await expect(page.locator('#mic-panel')).toHaveAttribute('data-state', 'off');
  expect(errors).toEqual([]);
});
