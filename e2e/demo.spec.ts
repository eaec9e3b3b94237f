/**
 * The `npm start` dashboard (demo/, a consumer-style Vite build importing `browserving` from
 * dist/), as a person would use it: download bars that grow from the first byte, an event log
 * from start-up, VAD that reacts to real speech, a latency chart with points, counters by error
 * code, selects that follow the repository, storage and runtime panels.
 */
import type { Locator, Page, TestInfo } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { test, expect } from './fixtures.js';

interface Segment {
  readonly kind: 'speech' | 'silence';
  readonly startMs: number;
  readonly endMs: number;
}

interface VadRun {
  readonly version: number;
  readonly frames: readonly { readonly x: number; readonly y: number }[];
}

/** Opens the dashboard and fails the test on any uncaught page error. */
async function openDashboard(page: Page, query = ''): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/${query}`);
  return errors;
}

async function ready(page: Page): Promise<void> {
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 });
}

async function screenshot(page: Page, testInfo: TestInfo, name: string, target?: Locator): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await (target ?? page).screenshot({ path, ...(target ? {} : { fullPage: true }) });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** The fill's width as a fraction of its track, from the rendered geometry. */
async function barFraction(track: Locator): Promise<number | undefined> {
  if ((await track.count()) === 0) return undefined;
  const [outer, inner] = await Promise.all([track.boundingBox(), track.locator('.progress-fill').boundingBox()]);
  if (!outer || outer.width === 0) return undefined;
  return (inner?.width ?? 0) / outer.width;
}

/** The empty track's grey in public/dashboard.css (#eaeef2). */
const TRACK = [0xea, 0xee, 0xf2] as const;

/** The share of the middle pixel row of a bar's screenshot that is painted in a colour far from the empty track's grey. */
function paintedFraction(png: Buffer): number {
  const { width, pixel } = decodePng(png);
  const [tr, tg, tb] = TRACK;
  let painted = 0;
  for (let x = 0; x < width; x++) {
    const [r, g, b] = pixel(x);
    if (Math.abs(r - tr) + Math.abs(g - tg) + Math.abs(b - tb) > 60) painted += 1;
  }
  return painted / width;
}

/** Just enough of PNG for Chromium's screenshots (8-bit RGB or RGBA, not interlaced): the middle row's pixels. */
function decodePng(png: Buffer): { width: number; pixel(x: number): [number, number, number] } {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const channels = png[25] === 6 ? 4 : 3;
  const chunks: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    if (png.toString('ascii', at + 4, at + 8) === 'IDAT') chunks.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(chunks));
  const stride = width * channels;
  let previous = Buffer.alloc(stride);
  let row = previous;
  for (let y = 0; y <= height >> 1; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    row = Buffer.alloc(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? row[i - channels]! : 0;
      const b = previous[i]!;
      const c = i >= channels ? previous[i - channels]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      row[i] = (line[i]! + [0, a, b, (a + b) >> 1, paeth][filter]!) & 0xff;
    }
    previous = row;
  }
  return { width, pixel: (x) => [row[x * channels]!, row[x * channels + 1]!, row[x * channels + 2]!] };
}

test.describe('the dashboard', () => {
  test.beforeEach(async ({ request }) => {
    await request.post('/__control/reset');
  });

  test('a first load from a throttled repository shows each version\'s download bar growing from the first byte to 100 %', async ({ page, request }, testInfo) => {
    // 2.3 MB per Silero version at 150 kB/s: each download lasts about 16 s. The layout is read in the page on every frame (a
    // round trip from here can take a second on a loaded machine); the pixels come from screenshots taken as fast as they go.
    await request.post('/__control/faults', { data: [1, 2].map((v) => ({ prefix: `/models/silero/${v}/`, bytesPerSecond: 150_000 })) });
    await page.addInitScript(() => {
      const seen: Record<string, number[]> = { 1: [], 2: [] };
      (globalThis as unknown as { barWidths: typeof seen }).barWidths = seen;
      const sample = (): void => {
        for (const v of ['1', '2']) {
          const track = document.querySelector(`#models tr[data-model="silero"][data-version="${v}"] .progress`);
          const fill = track?.querySelector('.progress-fill');
          const outer = track?.getBoundingClientRect().width ?? 0;
          if (!track || outer === 0) continue;
          const fraction = (fill?.getBoundingClientRect().width ?? 0) / outer;
          if (seen[v]!.at(-1) !== fraction) seen[v]!.push(fraction);
        }
        requestAnimationFrame(sample);
      };
      requestAnimationFrame(sample);
    });
    const errors = await openDashboard(page, '?autorun=0');
    const tracks = Object.fromEntries([1, 2].map((v) => [v, page.locator(`#models tr[data-model="silero"][data-version="${v}"] .progress`)]));
    const painted: Record<number, number[]> = { 1: [], 2: [] };
    let shots = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const last: number[] = [];
      for (const v of [1, 2]) {
        const fraction = await barFraction(tracks[v]!);
        if (fraction === undefined) continue;
        last.push(fraction);
        // What is on screen, not only what the layout says: the bar's own screenshot, pixel by pixel.
        painted[v]!.push(paintedFraction(await tracks[v]!.screenshot({ animations: 'disabled' })));
      }
      if (shots < 8 && painted[1]!.length % 4 === 1) await screenshot(page, testInfo, `download-${String(shots++).padStart(2, '0')}`, page.locator('#models-panel'));
      if (last.length === 2 && last.every((w) => w > 0.995) && [1, 2].every((v) => (painted[v]!.at(-1) ?? 0) > 0.98)) break;
      await page.waitForTimeout(100);
    }
    const layout = await page.evaluate(() => (globalThis as unknown as { barWidths: Record<number, number[]> }).barWidths);
    await screenshot(page, testInfo, 'download-done', page.locator('#models-panel'));
    const widthsFile = testInfo.outputPath('bar-widths.json');
    writeFileSync(widthsFile, JSON.stringify({ layout, painted }));
    await testInfo.attach('bar-widths', { path: widthsFile, contentType: 'application/json' });
    for (const v of [1, 2]) {
      for (const [how, widths] of [['layout', layout[v]!], ['pixels', painted[v]!]] as const) {
        const seen = `v${v} ${how}: ${widths.map((w) => w.toFixed(2)).join(' ')}`;
        // On the page before the download ended, moving through visible steps (every frame's layout: many; screenshots, slower
        // on a loaded machine: a few), never back, ending full.
        expect(widths[0], seen).toBeLessThan(0.5);
        expect(new Set(widths.filter((w) => w > 0.02 && w < 0.98).map((w) => w.toFixed(2))).size, seen).toBeGreaterThanOrEqual(how === 'layout' ? 8 : 2);
        for (let i = 1; i < widths.length; i++) expect(widths[i]!, seen).toBeGreaterThanOrEqual(widths[i - 1]! - 0.02);
        expect(widths.at(-1)!, seen).toBeGreaterThan(0.98);
      }
      const row = page.locator(`#models tr[data-model="silero"][data-version="${v}"]`);
      await expect(row.locator('.progress')).toHaveAttribute('data-state', 'cached');
      await expect(row.locator('.progress-text')).toContainText('2.33 MB / 2.33 MB');
      await expect(row).toHaveAttribute('data-state', 'AVAILABLE');
    }
    await ready(page);
    expect(errors).toEqual([]);
  });

  // One dashboard for both (each start costs ~30 s of two cores): what start-up logged, then the runtime and storage panels.
  test('the event log has every version\'s START, LOADING and AVAILABLE from start-up, and its download; runtime and storage: provider and fallback reason per version, runner workers, bytes per stored version, delete', async ({ page }, testInfo) => {
    const errors = await openDashboard(page, '?autorun=0');
    await ready(page);
    await test.step('the event log', async () => {
      for (const [model, version] of [['silero', 1], ['silero', 2], ['mlp', 1], ['vocab', 1]] as const) {
        const states = await page.locator(`#event-log li[data-kind="state"][data-model="${model}"][data-version="${version}"]`).evaluateAll((lis) => lis.map((li) => li.getAttribute('data-state')));
        expect(states, `${model} v${version}`).toEqual(['START', 'LOADING', 'AVAILABLE']);
        const downloads = await page.locator(`#event-log li[data-kind="download"][data-model="${model}"][data-version="${version}"]`).evaluateAll((lis) => lis.map((li) => li.getAttribute('data-state')));
        expect(downloads, `${model} v${version} download`).toEqual(['queued', 'downloading', 'cached']);
      }
      // START came before the control worker's start-up resolved: the log really begins at the beginning.
      const order = await page.locator('#event-log li').evaluateAll((lis) => lis.map((li) => `${li.getAttribute('data-kind')} ${li.textContent}`));
      expect(order.findIndex((e) => e.startsWith('state') && e.includes('START'))).toBeLessThan(order.findIndex((e) => e.includes('the control worker is up')));
      await screenshot(page, testInfo, 'event-log', page.locator('#events-panel'));
    });
    await test.step('runtime and storage', async () => {
      const providers = page.locator('#providers-table');
      for (const v of [1, 2]) {
        const row = providers.locator(`tr[data-model="silero"][data-version="${v}"]`);
        await expect(row).toContainText(/wasm|webgpu/);
        // Without a WebGPU adapter (the wasm project), the reason WebGPU was skipped is shown.
        if ((await row.textContent())!.includes('wasm')) await expect(row.locator('.fallback')).toContainText('webgpu');
      }
      // Silero v1 and v2, the MLP, and the vocabulary table (tables run in a WASM-only runner of their own).
      await expect(page.locator('#runners-table tbody tr')).toHaveCount(4);
      await expect(page.locator('#runtime-facts [data-fact="cross-origin isolated"]')).toContainText('yes');
      await expect(page.locator('#runtime-facts [data-fact="onnxruntime-web"]')).toHaveText(/^\d+\.\d+/);
      // A runner killed from the panel: the log, the runtime table and the version's timeline say so; it keeps serving.
      await page.locator('#runners-table tbody tr', { hasText: '"mlp"@1' }).getByRole('button', { name: 'Terminate' }).click();
      await expect(page.locator('#event-log li[data-kind="runner"][data-model="mlp"][data-state="restarted"]')).toHaveCount(1);
      await expect(providers.locator('tr[data-model="mlp"]')).toContainText('1 restart');
      await expect(page.locator('#models tr[data-model="mlp"] .runner-mark')).toHaveCount(1);
      await expect(page.locator('#models tr[data-model="mlp"] .timeline-text')).toContainText('runner replaced 1×');
      await expect(page.locator('#runners-table tbody tr')).toHaveCount(4);

      const stored = page.locator('#storage-table tr[data-model="silero"][data-version="1"]');
      await expect(stored).toContainText('2.33 MB');
      await expect(page.locator('#storage-summary')).toContainText('persistent:');
      await screenshot(page, testInfo, 'runtime-storage', page.locator('main'));
      await stored.getByRole('button', { name: 'Delete' }).click();
      await expect(stored).toHaveCount(0);
      await expect(page.locator('#storage-table tr[data-model="silero"][data-version="2"]')).toHaveCount(1);
      // Deleted from the store, still serving.
      await expect(page.locator('#models tr[data-model="silero"][data-version="1"]')).toHaveAttribute('data-state', 'AVAILABLE');
      await page.click('#lookup');
      await expect(page.locator('#lookup-out')).toContainText('serving→3');
    });
    expect(errors).toEqual([]);
  });

  // One dashboard for both: the sample's VAD runs at start-up and on the canary, then the latency chart and counters they fed.
  test('the speech sample gives VAD probabilities above 0.5 during speech and below 0.2 in silence, on both Silero versions; the latency chart has p50/p99 points, and the counters count requests and errors by code', async ({ page, request }, testInfo) => {
    const errors = await openDashboard(page);
    await ready(page);
    await test.step('VAD on the speech sample', async () => {
      const { segments, source } = (await (await request.get('/models/samples/speech.json')).json()) as { segments: Segment[]; source: string };
      const check = (run: VadRun) => {
        for (const segment of segments) {
          if (segment.kind === 'speech') {
            const frames = run.frames.filter((f) => f.x * 1000 >= segment.startMs && f.x * 1000 <= segment.endMs);
            const above = frames.filter((f) => f.y > 0.5).length / frames.length;
            expect(above, `v${run.version} (${source}): share of frames above 0.5 in speech at ${segment.startMs} ms`).toBeGreaterThanOrEqual(0.9);
          } else {
            // Silero holds its decision ~100-200 ms after speech ends (its hangover): silence is judged after 250 ms.
            const from = segment.startMs === 0 ? 0 : segment.startMs + 250;
            const frames = run.frames.filter((f) => f.x * 1000 - 16 >= from && f.x * 1000 + 16 <= segment.endMs);
            expect(frames.length).toBeGreaterThan(10);
            expect(Math.max(...frames.map((f) => f.y)), `v${run.version} (${source}): highest probability in silence at ${segment.startMs} ms`).toBeLessThan(0.2);
          }
        }
      };
      // The run at start-up used the page's default, label stable (v1).
      const stable = (await page.evaluate(() => (window as unknown as { dashboard: { lastVadRun(): VadRun } }).dashboard.lastVadRun()));
      expect(stable.version).toBe(1);
      check(stable);
      await expect(page.locator('#vad-chart polyline[data-series="probability"]')).toHaveAttribute('points', new RegExp(`^(\\S+ ){${stable.frames.length - 1}}\\S+$`));
      await screenshot(page, testInfo, 'vad-stable', page.locator('#vad-panel'));

      await page.selectOption('#vad-target', 'label:canary');
      await page.click('#run-sample');
      await expect(page.locator('#vad-panel')).toHaveAttribute('data-version', '2');
      const canary = await page.evaluate(() => (window as unknown as { dashboard: { lastVadRun(): VadRun } }).dashboard.lastVadRun());
      check(canary);
      await expect(page.locator('#vad-summary')).toContainText('silero v2');
      await screenshot(page, testInfo, 'vad-canary', page.locator('#vad-panel'));
    });
    await test.step('latency chart and counters', async () => {
      const p50 = page.locator('#latency-chart polyline[data-series="p50"]');
      const p99 = page.locator('#latency-chart polyline[data-series="p99"]');
      await expect.poll(async () => ((await p50.getAttribute('points')) ?? '').split(' ').filter(Boolean).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      const viewBox = (await page.locator('#latency-chart').getAttribute('viewBox'))!.split(' ').map(Number);
      const parse = async (line: Locator) => ((await line.getAttribute('points')) ?? '').split(' ').map((pt) => pt.split(',').map(Number) as [number, number]);
      const [low, high] = [await parse(p50), await parse(p99)];
      for (const [x, y] of [...low, ...high]) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(viewBox[2]!);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(y).toBeLessThanOrEqual(viewBox[3]!);
      }
      // SVG y grows downwards: p99 ≥ p50 is drawn at or above it.
      expect(high.at(-1)![1]).toBeLessThanOrEqual(low.at(-1)![1]);
      const silero = page.locator('#metrics-table tr[data-model="silero"]');
      // The speech sample's frames at start-up were requests.
      expect(Number(await silero.locator('td').nth(1).textContent())).toBeGreaterThanOrEqual(250);

      await page.click('#bad-request');
      await page.click('#bad-request');
      await expect(silero.locator('[data-code="NOT_FOUND"]')).toHaveText('NOT_FOUND 1');
      await expect(silero.locator('[data-code="INVALID_ARGUMENT"]')).toHaveText('INVALID_ARGUMENT 1');
      await screenshot(page, testInfo, 'latency', page.locator('#latency-panel'));
    });
    expect(errors).toEqual([]);
  });

  test('a version published while the dashboard is open appears in the selects and the models table', async ({ page, repo }, testInfo) => {
    repo.addVersion('silero', 1, { model: 'silero', version: 1 });
    repo.addVersion('silero', 2, { model: 'silero', version: 2 });
    repo.publish('silero', { stable: 1, canary: 2 });
    const errors = await openDashboard(page, `?repo=${repo.url}&models=silero&poll=500&autorun=0`);
    await ready(page);
    const options = page.locator('#vad-target option');
    await expect(options).toHaveText(['latest (v2)', 'label canary → v2', 'label stable → v1', 'version 2 · AVAILABLE', 'version 1 · AVAILABLE']);
    await expect(page.locator('#vad-target')).toHaveValue('label:stable');

    repo.addVersion('silero', 3, { model: 'silero', version: 1 });
    repo.publish('silero', { stable: 1, canary: 3 });
    await expect(page.locator('#vad-target option[value="version:3"]')).toHaveText('version 3 · AVAILABLE', { timeout: 30_000 });
    await expect(page.locator('#vad-target option[value="version:3"]')).toBeEnabled();
    await expect(page.locator('#vad-target option[value="label:canary"]')).toHaveText('label canary → v3');
    await expect(page.locator('#vad-target option[value="latest"]')).toHaveText('latest (v3)');
    // The user's choice survives the rebuild.
    await expect(page.locator('#vad-target')).toHaveValue('label:stable');
    await expect(page.locator('#models tr[data-model="silero"][data-version="3"]')).toHaveAttribute('data-state', 'AVAILABLE');
    await expect(page.locator('#event-log li[data-kind="state"][data-version="3"][data-state="AVAILABLE"]')).toHaveCount(1);

    await page.selectOption('#vad-target', 'version:3');
    await page.click('#run-sample');
    await expect(page.locator('#vad-panel')).toHaveAttribute('data-version', '3');
    await screenshot(page, testInfo, 'hot-published');
    expect(errors).toEqual([]);
  });
});
