/**
 * What the machine itself was doing during a run. On a shared VM a run's
 * tail latency follows the host as much as the code: the CPU gets slower for
 * minutes at a time, and `fdatasync` (which every durable commit waits for)
 * has slow spells of tens of milliseconds. Two probes record both, so a
 * report can tell a slow machine from a slow change:
 *
 * - `cpuReferenceMs()`: a fixed integer loop, timed (lower is faster);
 * - `cacheReferenceNs()`: a pointer chase through a working set that fits
 *   the shared L3 cache, timed per load (lower is faster);
 * - `DiskProbe`: a 4 KiB write and `fdatasync` every few milliseconds on the
 *   database's filesystem, on a thread of its own (`disk_probe_worker.ts`).
 *
 * @module
 */
import { mdTable } from "./report.ts";
import { summarize } from "./stats.ts";

/** A sync at least this slow is counted as a slow spell of the disk. */
export const SLOW_SYNC_MS = 20;

/** The order latency the load target asks the p99 to stay under, in ms. */
export const TARGET_P99_MS = 50;

/**
 * Milliseconds for a fixed loop of integer arithmetic: the fastest of
 * `tries`, so one preemption does not count. About 55 ms on a quiet 2-core
 * development VM; compare it between reports from the same machine.
 */
export function cpuReferenceMs(tries = 3, iterations = 100_000_000): number {
  let best = Infinity;
  let sink = 0;
  for (let t = 0; t < tries; t++) {
    const start = performance.now();
    let x = t;
    for (let i = 0; i < iterations; i++) x = (x + i * 7) | 0;
    best = Math.min(best, performance.now() - start);
    sink ^= x;
  }
  // Keeps the loop observable, so it cannot be optimised away.
  if (sink === 0.5) console.log(sink);
  return Math.round(best * 10) / 10;
}

const chains = new Map<number, Int32Array>();

/** One random cycle through `n` slots (Sattolo's shuffle, fixed seed). */
function chain(n: number): Int32Array {
  let c = chains.get(n);
  if (c) return c;
  c = new Int32Array(n);
  for (let i = 0; i < n; i++) c[i] = i;
  let seed = 0x2545f491;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % i;
    const t = c[i]!;
    c[i] = c[j]!;
    c[j] = t;
  }
  chains.set(n, c);
  return c;
}

/**
 * Nanoseconds per load of a pointer chase through `mib` MiB (every load
 * waits for the one before): the fastest of `tries`. 4 MiB fits this VM's
 * L3 (32 MiB, shared with the host's other tenants) but not its L2 (1 MiB a
 * core), so the figure follows how much of the L3 the neighbours leave:
 * 18–106 ns within one minute on 2026-11-22, while the integer loop stayed
 * at 55–68 ms. The server's heap and the database's pages live there too.
 */
export function cacheReferenceNs(
  mib = 4,
  tries = 3,
  loads = 2_000_000,
): number {
  const next = chain((mib * 1024 * 1024) / 4);
  let best = Infinity;
  let p = 0;
  for (let t = 0; t < tries; t++) {
    const start = performance.now();
    for (let i = 0; i < loads; i++) p = next[p]!;
    best = Math.min(best, performance.now() - start);
  }
  // Keeps the chase observable, so it cannot be optimised away.
  if (p === -1) console.log(p);
  return Math.round((best * 1e6) / loads * 10) / 10;
}

/** The disk's syncs over a span of time. */
export interface DiskSyncs {
  /** The folder the probe's file was in. */
  dir: string;
  /** Interval between the starts of two syncs, in ms. */
  every_ms: number;
  /** Syncs that ended in the span. */
  syncs: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Syncs that took `SLOW_SYNC_MS` or longer. */
  slow: number;
  /**
   * Time in the span during which no write could have become durable within
   * `TARGET_P99_MS`: each sync's time beyond it, summed. The stalls are the
   * virtual disk's and hold every write on it (a second probe beside the
   * first stalls at the same moments, for as long), so an order arriving in
   * that time waits longer than the target whatever the store does.
   */
  beyond_target_ms: number;
  /**
   * `beyond_target_ms` as a share of the span (0–1). Above 0.01 no durable
   * store could have kept the p99 of orders arriving evenly under the target.
   */
  beyond_target_share: number;
}

/** Recorded syncs: when each ended (ms since the epoch) and how long it took. */
export class DiskSamples {
  /**
   * @param pairs (end time since the epoch in ms, duration in ms), in order
   * @param everyMs interval the probe ran at
   * @param dir where its file was
   */
  constructor(
    readonly pairs: Float64Array,
    readonly everyMs: number,
    readonly dir: string,
  ) {}

  /** Number of recorded syncs. */
  get length(): number {
    return this.pairs.length / 2;
  }

  /** Only the syncs that ended in [`from`, `to`) (ms since the epoch). */
  between(from: number, to: number): DiskSamples {
    const kept: number[] = [];
    for (let i = 0; i < this.pairs.length; i += 2) {
      const end = this.pairs[i]!;
      if (end >= from && end < to) kept.push(end, this.pairs[i + 1]!);
    }
    return new DiskSamples(Float64Array.from(kept), this.everyMs, this.dir);
  }

  /** How long each sync took, in ms, in the order they ended. */
  durations(): number[] {
    const out: number[] = [];
    for (let i = 1; i < this.pairs.length; i += 2) out.push(this.pairs[i]!);
    return out;
  }

  /** The syncs that ended in [`from`, `to`) (ms since the epoch). */
  summary(from: number, to: number): DiskSyncs {
    const ms = this.between(from, to).durations();
    const s = summarize(ms);
    const beyond = ms.reduce(
      (sum, m) => sum + Math.max(0, m - TARGET_P99_MS),
      0,
    );
    return {
      dir: this.dir,
      every_ms: this.everyMs,
      syncs: s.count,
      p50_ms: s.p50,
      p99_ms: s.p99,
      max_ms: s.max,
      slow: ms.filter((m) => m >= SLOW_SYNC_MS).length,
      beyond_target_ms: Math.round(beyond * 100) / 100,
      beyond_target_share: to > from
        ? Math.round((beyond / (to - from)) * 1e5) / 1e5
        : 0,
    };
  }

  /**
   * The slowest sync that ended in each second from `t0` (ms since the
   * epoch), for `seconds` seconds; null for a second with none.
   */
  perSecondMax(t0: number, seconds: number): (number | null)[] {
    const out: (number | null)[] = Array.from({ length: seconds }, () => null);
    for (let i = 0; i < this.pairs.length; i += 2) {
      const s = Math.floor((this.pairs[i]! - t0) / 1000);
      if (s < 0 || s >= seconds) continue;
      const ms = Math.round(this.pairs[i + 1]! * 100) / 100;
      out[s] = Math.max(out[s] ?? 0, ms);
    }
    return out;
  }
}

/** A running disk probe; `stop()` ends it and hands over its samples. */
export class DiskProbe {
  #worker: Worker;
  #result: Promise<Float64Array>;

  private constructor(
    worker: Worker,
    result: Promise<Float64Array>,
    readonly dir: string,
    readonly everyMs: number,
  ) {
    this.#worker = worker;
    this.#result = result;
  }

  /**
   * Starts syncing a file of its own in `dir` every `everyMs`; resolves once
   * the first sync can start. Rejects (and leaves nothing behind) when the
   * file cannot be written there. `onSync`, if given, hears of each sync as
   * it ends (end time since the epoch and duration, in ms).
   */
  static start(
    dir: string,
    everyMs = 20,
    onSync?: (endMs: number, ms: number) => void,
  ): Promise<DiskProbe> {
    const worker = new Worker(
      new URL("./disk_probe_worker.ts", import.meta.url),
      { type: "module", name: "disk-probe" },
    );
    const path = `${dir}/.disk-probe-${Deno.pid}-${crypto.randomUUID()}`;
    return new Promise<DiskProbe>((resolveStart, rejectStart) => {
      const result = Promise.withResolvers<Float64Array>();
      // Only reported through stop(); a probe that failed late is not fatal.
      result.promise.catch(() => {});
      let started = false;
      const fail = (why: string) => {
        const err = new Error(`disk probe in ${dir}: ${why}`);
        worker.terminate();
        if (started) result.reject(err);
        else rejectStart(err);
      };
      worker.onmessage = (e: MessageEvent) => {
        if (e.data.sync) {
          onSync?.(e.data.sync[0], e.data.sync[1]);
        } else if (e.data.started) {
          started = true;
          resolveStart(new DiskProbe(worker, result.promise, dir, everyMs));
        } else if (e.data.samples) {
          worker.terminate();
          result.resolve(e.data.samples);
        } else fail(e.data.error ?? "unexpected message");
      };
      worker.onerror = (e) => {
        e.preventDefault();
        fail(e.message);
      };
      worker.postMessage({ start: { path, everyMs, live: !!onSync } });
    });
  }

  /** Ends the probe (its file is removed) and returns what it recorded. */
  async stop(): Promise<DiskSamples> {
    this.#worker.postMessage({ stop: true });
    return new DiskSamples(await this.#result, this.everyMs, this.dir);
  }
}

/** What `MachineProbes` found, for a report. */
export interface MachineReport {
  /** `cpuReferenceMs()` just before the run and just after it. */
  cpu_reference_ms: { before: number; after: number };
  /** `cacheReferenceNs()` just before the run and just after it. */
  cache_reference_ns: { before: number; after: number };
  /** The disk's syncs in the measured window; null when it was not probed. */
  disk: DiskSyncs | null;
  /** Why the disk was not probed. */
  disk_skipped?: string;
  /** Slowest sync in each second of the run (the seconds of its per-second series). */
  disk_per_second_max: (number | null)[];
}

const epochMs = () => performance.timeOrigin + performance.now();

/** Both probes around one run, the disk one summarised over its measured window. */
export class MachineProbes {
  #span = { from: NaN, to: NaN };

  private constructor(
    readonly cpuBefore: number,
    readonly cacheBefore: number,
    readonly disk: DiskProbe | null,
    readonly skipped?: string,
  ) {}

  /**
   * Times the CPU loop and the cache chase, then starts syncing in `dir` (a
   * folder on the database's filesystem; without one the disk is not probed).
   */
  static async start(dir: string | undefined): Promise<MachineProbes> {
    const cpuBefore = cpuReferenceMs();
    const cacheBefore = cacheReferenceNs();
    if (!dir) {
      return new MachineProbes(
        cpuBefore,
        cacheBefore,
        null,
        "the database's folder is not known to this task (--url, or a --database-url that is not a local file, was given)",
      );
    }
    try {
      return new MachineProbes(
        cpuBefore,
        cacheBefore,
        await DiskProbe.start(dir),
      );
    } catch (e) {
      return new MachineProbes(
        cpuBefore,
        cacheBefore,
        null,
        (e as Error).message,
      );
    }
  }

  /** Measured-window hooks that note the window's bounds and pass them on to `inner`. */
  window(inner?: { start(): void; stop(): void }) {
    return {
      start: () => {
        this.#span.from = epochMs();
        inner?.start();
      },
      stop: () => {
        this.#span.to = epochMs();
        inner?.stop();
      },
    };
  }

  /**
   * Stops the disk probe and times the CPU loop again. `t0` (from
   * `performance.now()`) and `seconds` are those of the run's per-second
   * series.
   */
  async stop(t0: number, seconds: number): Promise<MachineReport> {
    let samples: DiskSamples | null = null;
    let skipped = this.skipped;
    try {
      samples = (await this.disk?.stop()) ?? null;
    } catch (e) {
      skipped = (e as Error).message;
    }
    const after = cpuReferenceMs();
    const cacheAfter = cacheReferenceNs();
    const { from, to } = this.#span;
    return {
      cpu_reference_ms: { before: this.cpuBefore, after },
      cache_reference_ns: { before: this.cacheBefore, after: cacheAfter },
      disk: samples?.summary(from, Number.isNaN(to) ? epochMs() : to) ?? null,
      ...(skipped ? { disk_skipped: skipped } : {}),
      disk_per_second_max: samples
        ? samples.perSecondMax(performance.timeOrigin + t0, seconds)
        : [],
    };
  }
}

/** The report section of `MachineReport`. */
export function machineMarkdown(m: MachineReport): string {
  const { before, after } = m.cpu_reference_ms;
  const d = m.disk;
  const disk = d
    ? `${d.syncs} syncs (4 KiB write + \`fdatasync\` every ${d.every_ms} ms in \`${d.dir}\`, on a thread of its own): ` +
      `p50 ${d.p50_ms} ms, p99 ${d.p99_ms} ms, max ${d.max_ms} ms; ${d.slow} took ${SLOW_SYNC_MS} ms or more`
    : `not probed: ${m.disk_skipped ?? "no samples"}`;
  return [
    "## The machine during the run",
    "",
    "On a shared VM the tail latency follows the host as much as the code. A durable order is acknowledged only after its commit's sync returns, so a slow spell of the disk shows in order latency directly; the chart plots the slowest probe sync of each second next to the p99.",
    "",
    mdTable(["probe", "result"], [
      [
        "CPU: a fixed integer loop (fastest of 3; lower is faster, about 55 ms on a quiet development VM)",
        `${before} ms before the run, ${after} ms after it`,
      ],
      [
        "cache: a pointer chase through 4 MiB (fastest of 3; ns per load, lower is faster; it fits the L3 the host's tenants share, 18–106 ns on this VM)",
        `${m.cache_reference_ns.before} ns before the run, ${m.cache_reference_ns.after} ns after it`,
      ],
      ["disk, measured window", disk],
      ...(d
        ? [[
          `disk: time in which no write could be durable within ${TARGET_P99_MS} ms`,
          reachNote(d),
        ]]
        : []),
    ]),
    "",
  ].join("\n");
}

/** A share (0–1) as a percentage with two decimals, e.g. `1.75 %`. */
export function percent(share: number): string {
  return `${(share * 100).toFixed(2)} %`;
}

/** What the disk's stalls allowed of the p99 target. */
function reachNote(d: DiskSyncs): string {
  const share = `${d.beyond_target_ms} ms, ${
    percent(d.beyond_target_share)
  } of the window`;
  return d.beyond_target_share > 0.01
    ? `${share}: over 1 %, so no durable store could have kept this window's p99 under ${TARGET_P99_MS} ms`
    : `${share}: under 1 %, so the disk alone did not put a p99 under ${TARGET_P99_MS} ms out of reach`;
}

/**
 * The probes in a run's closing line, e.g.
 * `, CPU loop 55/56 ms, cache 31/44 ns, disk syncs ≥ 20 ms: 2 (max 64.1 ms; beyond 50 ms for 0.14 % of the window)`.
 */
export function machineNote(m: MachineReport): string {
  const { before, after } = m.cpu_reference_ms;
  const disk = m.disk
    ? `, disk syncs ≥ ${SLOW_SYNC_MS} ms: ${m.disk.slow} (max ${m.disk.max_ms} ms; beyond ${TARGET_P99_MS} ms for ${
      percent(m.disk.beyond_target_share)
    } of the window)`
    : "";
  const cache = m.cache_reference_ns;
  return `, CPU loop ${before}/${after} ms, cache ${cache.before}/${cache.after} ns${disk}`;
}
