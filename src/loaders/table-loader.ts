/**
 * TableLoader: loads a lookup-table version (`table.txt` or `table.json`) into a LookupTable.
 * Estimated at twice the file size (the decoded strings plus the index).
 */
import type { LoadContext, Loader, ResourceAllocation } from '../core/loader.js';
import type { ServableId } from '../core/servable-id.js';
import type { ServableDescription } from '../core/servable-state.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import { TABLE_FILES, fileUrl, type ManifestVersion } from '../sources/manifest.js';
import type { ArtifactFetcher } from './artifact-fetcher.js';
import { LookupTable } from './lookup-table.js';

export interface TableLoaderOptions {
  readonly id: ServableId;
  readonly versionUrl: string;
  readonly entry: ManifestVersion;
  readonly fetcher: ArtifactFetcher;
}

export class TableLoader implements Loader<LookupTable> {
  readonly #options: TableLoaderOptions;
  #table: LookupTable | undefined;

  constructor(options: TableLoaderOptions) {
    this.#options = options;
  }

  #file() {
    const file = this.#options.entry.files.find((f) => (TABLE_FILES as readonly string[]).includes(f.path));
    if (!file) throw new ServingError('INVALID_ARGUMENT', `${describeServable(this.#options.id.name, this.#options.id.version)} has no ${TABLE_FILES.join(' or ')}`, { model: this.#options.id.name, version: this.#options.id.version });
    return file;
  }

  async estimateResources(): Promise<ResourceAllocation> {
    return { bytes: this.#file().size * 2 };
  }

  async load({ signal }: LoadContext): Promise<void> {
    const { id, fetcher, versionUrl } = this.#options;
    const file = this.#file();
    const bytes = await fetcher.fetch({ model: id.name, version: id.version, url: fileUrl(file, versionUrl), file, signal });
    this.#table = LookupTable.parse(id, file.path, bytes);
  }

  async unload(): Promise<void> {
    this.#table = undefined;
  }

  servable(): LookupTable {
    if (!this.#table) throw new ServingError('INTERNAL', `${describeServable(this.#options.id.name, this.#options.id.version)} is not loaded`);
    return this.#table;
  }

  describe(): ServableDescription {
    const table = this.servable();
    return { kind: 'table', tableType: table.type, size: table.size };
  }
}
