import { describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import { externalDataFiles, platformOfFiles, manifestUrl, MANIFEST_FORMAT, parseManifest, versionUrl } from '../manifest.js';

const SHA = 'a'.repeat(64);
const onnxFile = { path: 'model.onnx', size: 1234, sha256: SHA };

function validManifest(): Record<string, unknown> {
  return {
    format: MANIFEST_FORMAT,
    versions: [
      { version: 1, kind: 'onnx', files: [onnxFile, { path: 'weights/model.onnx.data', size: 10, sha256: 'b'.repeat(64) }] },
      { version: 2, kind: 'table', files: [{ path: 'table.txt', size: 0, sha256: SHA }] },
    ],
    labels: { stable: 1, canary: 2 },
    generatedAt: '2025-01-01T00:00:00Z',
  };
}

/** A valid manifest with `edit` applied to a deep copy of it. */
function withEdit(edit: (m: any) => void): unknown {
  const m = structuredClone(validManifest());
  edit(m);
  return m;
}

function rejectionOf(json: unknown): ServingError {
  try {
    parseManifest(json, 'vad');
  } catch (error) {
    expect(error).toBeInstanceOf(ServingError);
    return error as ServingError;
  }
  throw new Error('parseManifest accepted the manifest');
}

describe('parseManifest', () => {
  it('accepts a valid manifest and returns its versions, labels and generation time', () => {
    const manifest = parseManifest(validManifest(), 'vad');
    expect(manifest.format).toBe(MANIFEST_FORMAT);
    expect(manifest.versions.map((v) => [v.version, v.platform, v.files.length])).toEqual([
      [1, 'onnx', 2],
      [2, 'table', 1],
    ]);
    expect(manifest.versions[0]!.files[0]).toEqual(onnxFile);
    expect(manifest.labels).toEqual({ stable: 1, canary: 2 });
    expect(manifest.generatedAt).toBe('2025-01-01T00:00:00Z');
  });

  it('accepts a manifest without labels, and one without versions (an empty repository)', () => {
    expect(parseManifest({ format: MANIFEST_FORMAT, versions: [{ version: 0, kind: 'onnx', files: [onnxFile] }] }, 'vad').labels).toBeUndefined();
    expect(parseManifest({ format: MANIFEST_FORMAT, versions: [] }, 'vad').versions).toEqual([]);
  });

  const malformed: [string, unknown, RegExp][] = [
    ['not an object', 'manifest', /not a JSON object/],
    ['null', null, /not a JSON object/],
    ['an unknown format', withEdit((m) => (m.format = 'browserving-manifest/2')), /format must be "browserving-manifest\/1", got "browserving-manifest\/2"/],
    ['no format', withEdit((m) => delete m.format), /format must be/],
    ['versions not an array', withEdit((m) => (m.versions = { 1: {} })), /versions must be an array/],
    ['a version entry that is not an object', withEdit((m) => (m.versions[1] = 2)), /versions\[1\] must be an object/],
    ['a negative version', withEdit((m) => (m.versions[0].version = -1)), /versions\[0\]\.version must be a non-negative integer, got -1/],
    ['a fractional version', withEdit((m) => (m.versions[0].version = 1.5)), /versions\[0\]\.version must be a non-negative integer, got 1\.5/],
    ['a version given as a string', withEdit((m) => (m.versions[0].version = '1')), /versions\[0\]\.version must be a non-negative integer, got "1"/],
    ['a version listed twice', withEdit((m) => (m.versions[1] = { ...m.versions[0] })), /version 1 is listed twice/],
    ['an unknown legacy kind', withEdit((m) => (m.versions[0].kind = 'tflite')), /versions\[0\]\.platform must name a platform \("onnx", "table" or one the app registers\), got undefined/],
    ['a platform name with capitals', withEdit((m) => (m.versions[0] = { ...m.versions[0], kind: undefined, platform: 'Tokenizer' })), /versions\[0\]\.platform must be a platform name \(lower-case letters, digits, - and _\), got "Tokenizer"/],
    ['an "onnx" platform version without model.onnx', withEdit((m) => (m.versions[0] = { version: 1, platform: 'onnx', files: [{ path: 'weights.bin', size: 1, sha256: SHA }] })), /versions\[0\]: an "onnx" version needs a model\.onnx; its files are weights\.bin/],
    ['a "table" platform version without a table file', withEdit((m) => (m.versions[1] = { version: 2, platform: 'table', files: [onnxFile] })), /versions\[1\]: a "table" version needs a table\.txt or a table\.json; its files are model\.onnx/],
    ['external data naming a file the version does not have', withEdit((m) => (m.versions[0] = { version: 1, platform: 'onnx', files: [onnxFile], externalData: ['w.bin'] })), /versions\[0\]\.externalData must list files of the version besides model\.onnx and warmup\.json, got \["w\.bin"\]/],
    ['external data on a table', withEdit((m) => (m.versions[1] = { version: 2, platform: 'table', files: [{ path: 'table.txt', size: 0, sha256: SHA }], externalData: [] })), /versions\[1\]\.externalData is for "onnx" versions; this one is "table"/],
    ['no files', withEdit((m) => (m.versions[0].files = [])), /versions\[0\]\.files must be a non-empty array/],
    ['a file that is not an object', withEdit((m) => (m.versions[0].files[1] = 'model.onnx.data')), /versions\[0\]\.files\[1\] must be an object/],
    ['an absolute file path', withEdit((m) => (m.versions[0].files[0].path = '/model.onnx')), /versions\[0\]\.files\[0\]\.path must be a relative path inside the version folder, got "\/model\.onnx"/],
    ['a file path leaving the version folder', withEdit((m) => (m.versions[0].files[1].path = '../2/model.onnx')), /versions\[0\]\.files\[1\]\.path must be a relative path/],
    ['a file path with an empty segment', withEdit((m) => (m.versions[0].files[1].path = 'weights//data')), /versions\[0\]\.files\[1\]\.path must be a relative path/],
    ['a file path with a dot segment', withEdit((m) => (m.versions[0].files[1].path = './data')), /versions\[0\]\.files\[1\]\.path must be a relative path/],
    ['a missing file path', withEdit((m) => delete m.versions[0].files[0].path), /versions\[0\]\.files\[0\]\.path must be a relative path/],
    ['a negative size', withEdit((m) => (m.versions[0].files[0].size = -1)), /versions\[0\]\.files\[0\]\.size must be a byte count, got -1/],
    ['a size given as a string', withEdit((m) => (m.versions[0].files[0].size = '1234')), /versions\[0\]\.files\[0\]\.size must be a byte count, got "1234"/],
    ['an upper-case digest', withEdit((m) => (m.versions[0].files[0].sha256 = 'A'.repeat(64))), /versions\[0\]\.files\[0\]\.sha256 must be 64 lower-case hex digits/],
    ['a short digest', withEdit((m) => (m.versions[0].files[0].sha256 = 'a'.repeat(63))), /versions\[0\]\.files\[0\]\.sha256 must be 64 lower-case hex digits/],
    ['an onnx version without model.onnx', withEdit((m) => (m.versions[0].files = [{ path: 'weights.bin', size: 1, sha256: SHA }])), /versions\[0\] is kind "onnx" but its files are weights\.bin/],
    ['a table version whose files are a model', withEdit((m) => (m.versions[1].files = [onnxFile])), /versions\[1\] is kind "table" but its files are model\.onnx/],
    ['segments with a segment below 64 KiB', withEdit((m) => (m.versions[0].files[0].segments = { bytes: 1024, sha256: [SHA, SHA] })), /versions\[0\]\.files\[0\]\.segments\.bytes must be an integer ≥ 65536, got 1024/],
    ['segments that do not cover the file', withEdit((m) => (m.versions[0].files[0] = { ...m.versions[0].files[0], size: 200_000, segments: { bytes: 65536, sha256: [SHA, SHA] } })), /segments\.sha256 must list 4 digests \(one per 65536-byte segment of 200000 bytes\)/],
    ['a malformed segment digest', withEdit((m) => (m.versions[0].files[0] = { ...m.versions[0].files[0], size: 70_000, segments: { bytes: 65536, sha256: [SHA, 'x'] } })), /segments\.sha256\[1\] must be 64 lower-case hex digits/],
    ['labels that are an array', withEdit((m) => (m.labels = [1])), /labels must be an object of label → version/],
    ['labels that are null', withEdit((m) => (m.labels = null)), /labels must be an object/],
  ];

  it.each(malformed)('rejects %s with INVALID_ARGUMENT naming the model and the field', (_what, json, message) => {
    const error = rejectionOf(json);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.model).toBe('vad');
    expect(error.message).toMatch(/^model "vad": invalid manifest: /);
    expect(error.message).toMatch(message);
  });

  it('accepts a file with segment digests and keeps them, and one without (older manifests)', () => {
    const segmented = { path: 'model.onnx', size: 150_000, sha256: SHA, segments: { bytes: 65536, sha256: [SHA, SHA, 'b'.repeat(64)] } };
    const manifest = parseManifest(withEdit((m) => (m.versions[0].files[0] = segmented)), 'vad');
    expect(manifest.versions[0]!.files[0]).toEqual(segmented);
    expect(manifest.versions[0]!.files[1]!.segments).toBeUndefined();
  });

  it('rejects a malformed label name or label target, naming the label', () => {
    const badName = rejectionOf(withEdit((m) => (m.labels = { '1st': 1 })));
    expect(badName).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'vad', label: '1st' });
    const badTarget = rejectionOf(withEdit((m) => (m.labels = { stable: 'latest' })));
    expect(badTarget).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'vad', label: 'stable' });
    expect(badTarget.message).toMatch(/label "stable" must point to a version number, got latest/);
  });
});

describe('platforms and side files', () => {
  const side = { path: 'tokenizer.json', size: 7, sha256: SHA };
  const data = { path: 'model.onnx.data', size: 9, sha256: SHA };

  it('reads a legacy `kind` as the platform, every extra ONNX file then being external data', () => {
    const [onnx] = parseManifest(validManifest(), 'vad').versions;
    expect(onnx!.platform).toBe('onnx');
    expect('kind' in onnx!).toBe(false);
    expect(externalDataFiles(onnx!).map((f) => f.path)).toEqual(['weights/model.onnx.data']);
  });

  it('keeps side files apart from declared external data, and accepts any platform name with any files', () => {
    const manifest = parseManifest(
      {
        format: MANIFEST_FORMAT,
        versions: [
          { version: 1, platform: 'onnx', files: [onnxFile, data, side, { path: 'warmup.json', size: 2, sha256: SHA }], externalData: ['model.onnx.data'] },
          { version: 2, platform: 'onnx', files: [onnxFile, side] },
          { version: 3, platform: 'tokenizer', files: [side] },
        ],
      },
      'm',
    );
    const [v1, v2, v3] = manifest.versions;
    expect(externalDataFiles(v1!).map((f) => f.path)).toEqual(['model.onnx.data']);
    expect(externalDataFiles(v2!)).toEqual([]);
    expect(v3!.platform).toBe('tokenizer');
    expect(externalDataFiles(v3!)).toEqual([]);
  });

  it('tells the built-in platform from the file list', () => {
    expect(platformOfFiles(['model.onnx', 'model.onnx.data', 'warmup.json'])).toBe('onnx');
    expect(platformOfFiles(['table.json'])).toBe('table');
    expect(platformOfFiles(['table.txt'])).toBe('table');
    expect(platformOfFiles(['weights.bin'])).toBeUndefined();
  });

  it('puts the manifest and the version folders under the base path, with or without its trailing slash', () => {
    for (const base of ['https://cdn.test/models/vad', 'https://cdn.test/models/vad/']) {
      expect(manifestUrl(base)).toBe('https://cdn.test/models/vad/manifest.json');
      expect(versionUrl(base, 12)).toBe('https://cdn.test/models/vad/12/');
    }
  });
});
