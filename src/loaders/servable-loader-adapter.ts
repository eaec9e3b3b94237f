/**
 * ServableLoaderAdapter: turns a version's location in the repository into its Loader (TF
 * Serving's platform → SourceAdapter map): a RunnerLoader for a version of any platform, a
 * ShardedTableLoader for a table version written as shards.
 */
import type { BatchingOptions } from '../batching/batching-options.js';
import type { Loader } from '../core/loader.js';
import type { ServableId } from '../core/servable-id.js';
import { SourceAdapter } from '../core/source-adapter.js';
import type { ExecutionProvider } from '../protocol.js';
import type { VersionLocation } from '../sources/repository-source.js';
import type { ArtifactFetcher } from './artifact-fetcher.js';
import { RunnerLoader, type RunnerSupervision } from './runner-loader.js';
import { ShardedTableLoader } from './sharded-table-loader.js';

export interface ModelLoadOptions {
  readonly executionProviders: readonly ExecutionProvider[];
  readonly warmupRuns: number;
  readonly batching?: BatchingOptions;
  readonly runnerGroup?: string;
  readonly maxRunMs?: number;
  readonly platformConfig?: unknown;
}

export interface ServableLoaderAdapterOptions {
  /** Where ONNX versions run: runner workers, through the main thread. */
  readonly supervision: RunnerSupervision;
  readonly fetcher: ArtifactFetcher;
  /** Per-model loading options, read when a version's loader is made. */
  readonly loadOptions: (model: string) => ModelLoadOptions;
  /** The app's platform modules, by name. */
  readonly platformModules: () => Readonly<Record<string, string>>;
  /** Replaces a version's loader when its model is placed in two places (`placement: 'prefer-*'`); returns the loader as is otherwise. */
  readonly place?: (id: ServableId, loader: RunnerLoader) => Loader;
}

export class ServableLoaderAdapter extends SourceAdapter<VersionLocation, Loader> {
  readonly #options: ServableLoaderAdapterOptions;

  constructor(options: ServableLoaderAdapterOptions) {
    super();
    this.#options = options;
  }

  protected adapt(id: ServableId, location: VersionLocation): Loader {
    const { supervision, fetcher, loadOptions, platformModules } = this.#options;
    const options = { id, versionUrl: location.versionUrl, entry: location.entry, supervision, fetcher, platformModules: platformModules(), ...loadOptions(id.name) };
    if (location.entry.shards) return new ShardedTableLoader(options);
    const loader = new RunnerLoader(options);
    return this.#options.place?.(id, loader) ?? loader;
  }
}
