/**
 * EndpointHealth: whether a model's remote endpoint is taking requests, as the control worker
 * decides it for `placement: 'prefer-*'`.
 *
 * States: `healthy` → `failing` (a request failed on the endpoint itself, or the remote version
 * could not load) → `healthy` again once a probe (`ready`) succeeds. Probes run `probeMs` after
 * the failure, then back off (the wait doubles after each failed probe, up to 16 × `probeMs`);
 * a success resets the wait. Nothing but `markFailing` and a successful probe changes the
 * state; each change calls `onChange` (routes are recomputed). Probing runs only while failing.
 */
/** The longest wait between probes, in `probeMs`. */
const MAX_BACKOFF = 16;

export class EndpointHealth {
  readonly #probe: (signal: AbortSignal) => Promise<void>;
  readonly #probeMs: number;
  readonly #onChange: () => void;
  #failing: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #failedProbes = 0;

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

  /** The next probe: `probeMs`, doubled after each failed probe, up to MAX_BACKOFF times it. */
  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#check(), this.#probeMs * Math.min(2 ** this.#failedProbes, MAX_BACKOFF));
  }

  async #check(): Promise<void> {
    if (this.#closed || this.#failing === undefined) return;
    const timeout = AbortSignal.timeout(Math.max(1000, this.#probeMs));
    try {
      await this.#probe(timeout);
    } catch (error) {
      if (this.#closed) return;
      // A probe that got no answer in time says nothing new ("signal timed out"): the failure
      // that marked the endpoint stays the reason shown.
      if (!timeout.aborted) this.#failing = error instanceof Error ? error.message : String(error);
      // An endpoint that stays down is asked less and less often: many pages probing a struggling
      // cluster every probeMs would keep it down.
      this.#failedProbes += 1;
      this.#schedule();
      return;
    }
    if (this.#closed) return;
    this.#failing = undefined;
    this.#failedProbes = 0;
    this.#onChange();
  }
}
