import { describe, expect, it } from 'vitest';
import type { ArtifactFetcher } from '../artifact-fetcher.js';
import { RunnerLoader, type RunnerSupervision } from '../runner-loader.js';
import type { RunnerLoadSpec } from '../../protocol/runner.js';
import { fakeSupervision } from '../../test-util/fake-supervision.js';

/** Records the specs a RunnerLoader sends to runners. */
function supervision(specs: RunnerLoadSpec[]): RunnerSupervision {
  return fakeSupervision((spec) => {
    specs.push(spec);
    return { runner: 'runner-1' };
  });
}

describe('RunnerLoader', () => {
  it('a remote version does not arm maxRunMs on the runner all remote versions share (remote.timeoutMs bounds its requests)', async () => {
    const specs: RunnerLoadSpec[] = [];
    const loader = new RunnerLoader({
      id: { name: 'ranker', version: 1 },
      versionUrl: 'https://tfs.example/',
      entry: { version: 1, platform: 'remote', files: [] },
      fetcher: {} as ArtifactFetcher,
      supervision: supervision(specs),
      executionProviders: ['wasm'],
      platformConfig: { endpoint: { url: 'https://tfs.example', protocol: 'tfserving' }, model: 'ranker' },
      maxRunMs: 100,
    });
    await loader.load({ signal: new AbortController().signal });
    expect(specs).toHaveLength(1);
    expect(specs[0]!.maxRunMs).toBeUndefined();
  });
});
