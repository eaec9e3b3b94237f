/**
 * LatencyHistogram: counts of latencies (in microseconds) per bucket, plus their sum and count —
 * what a Prometheus histogram exports, in memory that does not grow with the number of requests.
 *
 * A value falls in the first bucket whose upper bound is ≥ it (Prometheus' `le`), or in the
 * overflow bucket past the last bound. The default bounds are TF Serving's for request and
 * runtime latency: 10·1.8^k µs for k = 0…32 (10 µs to about 25 minutes), rounded to the six
 * significant digits TF Serving prints them with, so the bounds counted against are exactly the
 * `le` values exported.
 */

/** A histogram's content at one moment. `counts` are per bucket (not cumulative), one more than `bounds`: the last is the overflow. */
export interface HistogramSnapshot {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** TF Serving's request-latency bucket bounds (`Buckets::Exponential(10, 1.8, 33)`), in microseconds. */
export const REQUEST_LATENCY_BOUNDS: readonly number[] = Array.from({ length: 33 }, (_, k) => Number((10 * 1.8 ** k).toPrecision(6)));

export class LatencyHistogram {
  readonly bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  /** @throws RangeError when `bounds` is empty or not strictly increasing finite numbers. */
  constructor(bounds: readonly number[] = REQUEST_LATENCY_BOUNDS) {
    const increasing = bounds.every((b, i) => Number.isFinite(b) && (i === 0 || b > bounds[i - 1]!));
    if (bounds.length === 0 || !increasing) throw new RangeError(`LatencyHistogram(bounds): bounds must be strictly increasing finite numbers, got [${bounds.join(', ')}]`);
    this.bounds = [...bounds];
    this.#counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** Records one latency. @throws RangeError when `micros` is negative or not a finite number. */
  record(micros: number): void {
    if (!Number.isFinite(micros) || micros < 0) throw new RangeError(`LatencyHistogram.record(micros): micros must be a finite number ≥ 0, got ${micros}`);
    this.#counts[this.#bucketOf(micros)]! += 1;
    this.#sum += micros;
    this.#count += 1;
  }

  get count(): number {
    return this.#count;
  }

  get sum(): number {
    return this.#sum;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: this.bounds, counts: [...this.#counts], sum: this.#sum, count: this.#count };
  }

  /** Index of the first bound ≥ `value` (binary search); `bounds.length` for the overflow bucket. */
  #bucketOf(value: number): number {
    let low = 0;
    let high = this.bounds.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.bounds[mid]! >= value) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}
