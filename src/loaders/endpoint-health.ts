/**
 * EndpointHealth: whether a model's remote endpoint is taking requests, as the control worker
 * decides it for `placement: 'prefer-*'`.
 *
 * States: `healthy` → `failing` (a request failed on the endpoint itself, or the remote version
 * could not load) → `healthy` again once a probe (`ready`, every `probeMs`) succeeds. Nothing but
 * `markFailing` and a successful probe changes the state; each change calls `onChange` (routes
 * are recomputed). Probing runs only while failing.
 */
export class EndpointHealth {
  readonly #probe: (signal: AbortSignal) => Promise<void>;
  readonly #probeMs: number;
  readonly #onChange: () => void;
  #failing: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: { probe: (signal: AbortSignal) => Promise<void>; probeMs: number; onChange: () => void }) {
    this.#probe = options.probe;
    this.#probeMs = options.probeMs;
    this.#onChange = options.onChange;
  }

  get healthy(): boolean {
    return this.#failing === undefined;
  }

  /** Why the endpoint is taken as failing; undefined while healthy. */
  get reason(): string | undefined {
    return this.#failing;
  }

  /** The endpoint failed: requests stop going there until a probe succeeds. */
  markFailing(reason: string): void {
    const was = this.#failing;
    this.#failing = reason;
    if (was !== undefined || this.#closed) return;
    this.#onChange();
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#check(), this.#probeMs);
  }

  async #check(): Promise<void> {
    if (this.#closed || this.#failing === undefined) return;
    try {
      await this.#probe(AbortSignal.timeout(Math.max(1000, this.#probeMs)));
    } catch (error) {
      if (this.#closed) return;
      this.#failing = error instanceof Error ? error.message : String(error);
      this.#schedule();
      return;
    }
    if (this.#closed) return;
    this.#failing = undefined;
    this.#onChange();
  }
}
