/**
 * What the dashboard serves, read from the page's query string so the same page can watch
 * another repository (the e2e tests point it at a scratch one they publish versions into):
 *
 *   ?repo=/repos/x/   base URL holding `silero/`, `mlp/`, `vocab/`     @defaultValue ./models/
 *   ?models=silero    which of them to serve, comma-separated           @defaultValue all three
 *   ?poll=1000        manifest poll interval in ms                      @defaultValue 10000
 *   ?autorun=0        do not run the speech sample once VAD is up        @defaultValue 1
 */
import type { CreateServingOptions, ModelConfig } from 'browserving';

export interface DashboardConfig {
  readonly models: readonly ModelConfig[];
  readonly pollIntervalMs: number;
  readonly autorun: boolean;
  /** Where the speech sample made at set-up is served. */
  readonly samplePath: string;
}

/** The demo's models, as `npm start` writes them into public/models (scripts/models.mjs). */
const MODELS: Readonly<Record<string, (base: string) => ModelConfig>> = {
  // Every version is served, so both Silero versions (v5 `stable`, v6 `canary`) can be compared.
  silero: (base) => ({ name: 'silero', basePath: `${base}silero`, modelVersionPolicy: { all: {} }, warmupRuns: 1 }),
  mlp: (base) => ({ name: 'mlp', basePath: `${base}mlp` }),
  vocab: (base) => ({ name: 'vocab', basePath: `${base}vocab` }),
};

export function readDashboardConfig(search: string): DashboardConfig {
  const params = new URLSearchParams(search);
  const repo = withSlash(params.get('repo') ?? './models/');
  const names = (params.get('models') ?? Object.keys(MODELS).join(',')).split(',').map((n) => n.trim()).filter((n) => n in MODELS);
  const poll = Number(params.get('poll') ?? 10_000);
  return {
    models: names.map((name) => MODELS[name]!(repo)),
    pollIntervalMs: Number.isFinite(poll) && poll >= 0 ? poll : 10_000,
    autorun: params.get('autorun') !== '0',
    samplePath: './models/samples/',
  };
}

/** The options `createServing` gets: the page renders before the models load, and sees every event from the first. */
export function servingOptions(config: DashboardConfig, onEvent: CreateServingOptions['onEvent']): CreateServingOptions {
  return { models: config.models, pollIntervalMs: config.pollIntervalMs, waitForModels: false, onEvent };
}

function withSlash(path: string): string {
  return path.endsWith('/') ? path : `${path}/`;
}
