import { describe, expect, it } from 'vitest';
import type { DownloadProgress } from '../../protocol.js';
import { DownloadProgressTracker } from '../download-progress.js';

describe('DownloadProgressTracker', () => {
  it("a version's state only moves forward across its files: verifying only once nothing is left to download", () => {
    const seen: DownloadProgress[] = [];
    const t = new DownloadProgressTracker((p) => seen.push(p));
    t.begin('m', 1, [{ path: 'model.onnx', size: 100, sha256: 'a'.repeat(64) }, { path: 'warmup.json', size: 10, sha256: 'b'.repeat(64) }]);
    t.update('m', 1, 'model.onnx', 'downloading', 50);
    t.update('m', 1, 'model.onnx', 'verifying', 100);
    t.update('m', 1, 'model.onnx', 'cached', 100);
    t.update('m', 1, 'warmup.json', 'downloading', 5);
    t.update('m', 1, 'warmup.json', 'verifying', 10);
    t.update('m', 1, 'warmup.json', 'cached', 10);
    const states = seen.filter((p) => p.file === undefined).map((p) => p.state);
    expect(states).toEqual(['queued', 'downloading', 'downloading', 'downloading', 'downloading', 'verifying', 'cached']);
    expect(seen.filter((p) => p.file === undefined).map((p) => p.bytesDone)).toEqual([0, 50, 100, 100, 105, 110, 110]);
  });
});
