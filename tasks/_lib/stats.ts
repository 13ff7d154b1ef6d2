/** Latency statistics: nearest-rank percentiles over recorded milliseconds. */

/** count, mean and the percentiles of a set of latencies, in ms. */
export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile `p` (0–100) of an ascending array; 0 when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Summarises latencies (any order); values are rounded to 0.01 ms. */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const r = (v: number) => Math.round(v * 100) / 100;
  return {
    count: sorted.length,
    mean: r(sorted.length ? sum / sorted.length : 0),
    p50: r(percentile(sorted, 50)),
    p95: r(percentile(sorted, 95)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted.length ? sorted[sorted.length - 1]! : 0),
  };
}

/** Counts by name, e.g. HTTP statuses. */
export class Tally {
  readonly counts: Record<string, number> = {};

  /** Adds `n` to `name`. */
  add(name: string | number, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }

  /** The count of `name` (0 when never added). */
  get(name: string | number): number {
    return this.counts[name] ?? 0;
  }
}

/** Per-second buckets of a time series (completions and latencies), for charts. */
export class Timeline {
  readonly #t0: number;
  readonly #buckets: { done: number; ms: number[] }[] = [];

  /** @param t0 start of the series, from `performance.now()` */
  constructor(t0 = performance.now()) {
    this.#t0 = t0;
  }

  /** Start of the series, from `performance.now()`. */
  get t0(): number {
    return this.#t0;
  }

  /** Records one completion with its latency. */
  add(ms: number, at = performance.now()): void {
    const i = Math.max(0, Math.floor((at - this.#t0) / 1000));
    while (this.#buckets.length <= i) this.#buckets.push({ done: 0, ms: [] });
    const b = this.#buckets[i]!;
    b.done++;
    b.ms.push(ms);
  }

  /** Completions and p99 per second. */
  series(): { second: number; done: number; p99: number }[] {
    return this.#buckets.map((b, second) => ({
      second,
      done: b.done,
      p99: summarize(b.ms).p99,
    }));
  }
}
