/**
 * What `deno task machine-check` concludes from its probes: whether the disk
 * of this machine leaves room for a durable p99 under `TARGET_P99_MS`, window
 * by window, and whether its stalls were the disk's own or the whole VM's.
 *
 * A durable order is acknowledged after its commit's sync returns. When the
 * virtual disk holds every write for D ms, the orders arriving in the first
 * D − 50 ms of it wait longer than 50 ms whatever the store does; once that
 * time exceeds 1 % of a window, the window's p99 cannot be under 50 ms.
 *
 * @module
 */
import {
  DiskSamples,
  type DiskSyncs,
  percent,
  SLOW_SYNC_MS,
  TARGET_P99_MS,
} from "./machine_probe.ts";
import { mdTable } from "./report.ts";
import { percentile } from "./stats.ts";

/** A timer late by at most this much counts as "on time": the CPU was running. */
export const ON_TIME_MS = 10;

/** The main-thread timer's interval. */
export const TIMER_EVERY_MS = 5;

/**
 * Wake-ups of a fixed-interval timer on the main thread: when each came and
 * how late it was, so a disk stall can be told from the whole VM pausing
 * (then the timer is late by as long as the stall).
 */
export class TimerProbe {
  readonly late: number[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;

  /** @param everyMs the timer's interval */
  constructor(readonly everyMs = TIMER_EVERY_MS) {}

  /** Starts the timer; records (end since the epoch, ms late) of every wake-up later than 1 ms. */
  start(): void {
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      const late = now - this.#last - this.everyMs;
      this.#last = now;
      if (late > 1) {
        this.late.push(
          performance.timeOrigin + now,
          Math.round(late * 100) / 100,
        );
      }
    }, this.everyMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * The most a timer was late while [`from`, `to`] (ms since the epoch) lasted:
 * a wake-up `late` ms late at `end` covers [end − late, end].
 */
export function lateDuring(
  late: ArrayLike<number>,
  from: number,
  to: number,
): number {
  let most = 0;
  for (let i = 0; i < late.length; i += 2) {
    const end = late[i]!, ms = late[i + 1]!;
    if (end - ms <= to && end >= from) most = Math.max(most, ms);
  }
  return most;
}

/** One window of the run: what the disk allowed in it. */
export interface CheckWindow {
  /** Start, in seconds from the start of the run. */
  from_s: number;
  to_s: number;
  max_ms: number;
  beyond_target_ms: number;
  beyond_target_share: number;
  /** Over 1 %: no durable store could keep this window's p99 under the target. */
  out_of_reach: boolean;
}

/**
 * Consecutive windows of `windowMs` from `from` to `to` (ms since the epoch);
 * a run shorter than one window is one window.
 */
export function checkWindows(
  samples: DiskSamples,
  from: number,
  to: number,
  windowMs: number,
): CheckWindow[] {
  const n = Math.max(1, Math.floor((to - from) / windowMs));
  const size = (to - from) / n;
  return Array.from({ length: n }, (_, i) => {
    const a = from + i * size, b = i === n - 1 ? to : a + size;
    const s = samples.summary(a, b);
    return {
      from_s: Math.round((a - from) / 100) / 10,
      to_s: Math.round((b - from) / 100) / 10,
      max_ms: s.max_ms,
      beyond_target_ms: s.beyond_target_ms,
      beyond_target_share: s.beyond_target_share,
      out_of_reach: s.beyond_target_share > 0.01,
    };
  });
}

/** A sync at or beyond the target, and what the main thread's timer did meanwhile. */
export interface Stall {
  /** When it ended (ISO time). */
  at: string;
  ms: number;
  /** The most the timer was late during it. */
  timer_late_ms: number;
}

/** Every sync that took `TARGET_P99_MS` or more, slowest first, with the timer's lateness during each. */
export function stallsOf(
  samples: DiskSamples,
  late: ArrayLike<number>,
): Stall[] {
  const out: Stall[] = [];
  for (let i = 0; i < samples.pairs.length; i += 2) {
    const end = samples.pairs[i]!, ms = samples.pairs[i + 1]!;
    if (ms < TARGET_P99_MS) continue;
    out.push({
      at: new Date(end).toISOString(),
      ms: Math.round(ms * 100) / 100,
      timer_late_ms: lateDuring(late, end - ms, end),
    });
  }
  return out.sort((a, b) => b.ms - a.ms);
}

/** Everything a machine check found. */
export interface MachineCheck {
  dir: string;
  every_ms: number;
  duration_ms: number;
  window_ms: number;
  cpu_reference_ms: { before: number; after: number };
  cache_reference_ns: { before: number; after: number };
  disk: DiskSyncs & { p999_ms: number; at_least_target: number };
  windows: CheckWindow[];
  windows_out_of_reach: number;
  /** The syncs of at least `TARGET_P99_MS`, slowest first (20 at most). */
  stalls: Stall[];
  /** Of all such syncs: how many had the main thread's timer on time throughout. */
  stalls_with_timer_on_time: number;
  stalls_total: number;
  /** Per second: the slowest sync, and the most the timer was late. */
  per_second: {
    second: number;
    sync_max_ms: number | null;
    timer_late_max_ms: number;
  }[];
  passed: boolean;
}

/** Puts the probes of one run together. */
export function analyse(
  o: {
    samples: DiskSamples;
    late: ArrayLike<number>;
    from: number;
    to: number;
    windowMs: number;
    cpu: { before: number; after: number };
    cache: { before: number; after: number };
  },
): MachineCheck {
  const { samples, late, from, to } = o;
  const whole = samples.summary(from, to);
  // The run's own syncs only, as in `whole` (the probe starts a little before
  // `from` and stops a little after `to`).
  const inRun = samples.between(from, to);
  const durations = inRun.durations().sort((a, b) => a - b);
  const windows = checkWindows(samples, from, to, o.windowMs);
  const stalls = stallsOf(inRun, late);
  const durationMs = Math.round(to - from);
  const seconds = Math.ceil(durationMs / 1000);
  const syncMax = samples.perSecondMax(from, seconds);
  const lateMax = Array.from({ length: seconds }, () => 0);
  for (let i = 0; i < late.length; i += 2) {
    const s = Math.floor((late[i]! - from) / 1000);
    if (s >= 0 && s < seconds) lateMax[s] = Math.max(lateMax[s]!, late[i + 1]!);
  }
  return {
    dir: samples.dir,
    every_ms: samples.everyMs,
    duration_ms: durationMs,
    window_ms: o.windowMs,
    cpu_reference_ms: o.cpu,
    cache_reference_ns: o.cache,
    disk: {
      ...whole,
      p999_ms: durations.length
        ? Math.round(percentile(durations, 99.9) * 100) / 100
        : 0,
      at_least_target: stalls.length,
    },
    windows,
    windows_out_of_reach: windows.filter((w) => w.out_of_reach).length,
    stalls: stalls.slice(0, 20),
    stalls_with_timer_on_time:
      stalls.filter((s) => s.timer_late_ms <= ON_TIME_MS).length,
    stalls_total: stalls.length,
    per_second: syncMax.map((v, second) => ({
      second,
      sync_max_ms: v,
      timer_late_max_ms: lateMax[second]!,
    })),
    passed: windows.every((w) => !w.out_of_reach),
  };
}

/** The report's body (after the header). */
export function checkMarkdown(c: MachineCheck, svgFile?: string): string {
  const d = c.disk;
  const windowS = c.window_ms / 1000;
  return [
    `For ${
      c.duration_ms / 1000
    } s a thread of its own wrote 4 KiB and called \`fdatasync\` every ${c.every_ms} ms in \`${c.dir}\` (the wait every durable commit has), while a ${TIMER_EVERY_MS} ms timer ran on the main thread. Nothing else of ForkFlow ran.`,
    "",
    "## The disk",
    "",
    mdTable(["figure", "value"], [
      ["syncs", d.syncs],
      [
        "p50 / p99 / p99.9 / max",
        `${d.p50_ms} / ${d.p99_ms} / ${d.p999_ms} / ${d.max_ms} ms`,
      ],
      [`syncs of ${SLOW_SYNC_MS} ms or more`, d.slow],
      [`syncs of ${TARGET_P99_MS} ms or more`, d.at_least_target],
      [
        `time in which no write could be durable within ${TARGET_P99_MS} ms`,
        `${d.beyond_target_ms} ms, ${
          percent(d.beyond_target_share)
        } of the run`,
      ],
      [
        `windows of ${windowS} s (a \`load\` run measures 10 s) where that time was over 1 %`,
        `${c.windows_out_of_reach} of ${c.windows.length}`,
      ],
    ]),
    "",
    c.passed
      ? `In every window the disk left a durable p99 under ${TARGET_P99_MS} ms within reach.`
      : `In ${c.windows_out_of_reach} of ${c.windows.length} windows the disk alone put a durable p99 under ${TARGET_P99_MS} ms out of reach: a \`load\` run measured in such a window misses the target whatever the store does.`,
    "",
    "## Disk or VM?",
    "",
    c.stalls_total === 0
      ? `No sync took ${TARGET_P99_MS} ms or more.`
      : `Of the ${c.stalls_total} syncs of ${TARGET_P99_MS} ms or more, ${c.stalls_with_timer_on_time} had the main thread's timer late by ${ON_TIME_MS} ms at most throughout: the CPU ran on while the disk held the write. A stall with the timer late by as much would be the whole VM pausing.`,
    "",
    ...(c.stalls.length
      ? [
        mdTable(
          ["ended (UTC)", "sync ms", "timer late, ms"],
          c.stalls.map((s) => [s.at.slice(11, 23), s.ms, s.timer_late_ms]),
        ),
        "",
      ]
      : []),
    "## The CPU and its cache",
    "",
    `A fixed integer loop (fastest of 3; about 51–55 ms on a quiet development VM): ${c.cpu_reference_ms.before} ms before, ${c.cpu_reference_ms.after} ms after. A pointer chase through 4 MiB, which fits the L3 cache the host's tenants share (ns per load, fastest of 3): ${c.cache_reference_ns.before} ns before, ${c.cache_reference_ns.after} ns after.`,
    "",
    ...(svgFile
      ? [`![slowest sync and timer lateness per second](${svgFile})`, ""]
      : []),
  ].join("\n");
}
