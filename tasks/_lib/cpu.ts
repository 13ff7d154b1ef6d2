/**
 * CPU time of the processes in a run, from Linux `/proc`: what the server,
 * the load client and PostgreSQL each spent per acknowledged order. On this
 * shared 2-core VM latency swings with the hour, while CPU per order moves
 * far less, so it is the figure to compare changes by.
 *
 * @module
 */

/** A process to account for. */
export interface CpuSubject {
  /** Row label, e.g. `server`. */
  name: string;
  /** Process ids, or a function that finds them when sampled (PostgreSQL's backends come and go). */
  pids: number[] | (() => number[]);
}

/** CPU time of one subject over a window. */
export interface CpuUse {
  name: string;
  /** Seconds of CPU over the window. */
  seconds: number;
  /** Share of one core (1 = a whole core). */
  cores: number;
  /** Microseconds of CPU per acknowledged order in the window. */
  usPerOrder: number | null;
}

/** Nanoseconds every thread of `pid` has run, from `/proc/<pid>/task/<tid>/schedstat`; 0 when gone. */
export function threadCpuNs(pid: number): number {
  let total = 0;
  let tasks: Iterable<Deno.DirEntry>;
  try {
    tasks = Deno.readDirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const t of tasks) {
    try {
      const text = Deno.readTextFileSync(
        `/proc/${pid}/task/${t.name}/schedstat`,
      );
      total += Number(text.split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return total;
}

/** Ids of running processes whose command name (`/proc/<pid>/comm`) is `comm`. */
export function pidsNamed(comm: string): number[] {
  const out: number[] = [];
  try {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        if (Deno.readTextFileSync(`/proc/${e.name}/comm`).trim() === comm) {
          out.push(Number(e.name));
        }
      } catch { /* ended meanwhile */ }
    }
  } catch { /* no /proc */ }
  return out;
}

/** Whether this machine exposes per-thread CPU time. */
export function canMeasureCpu(): boolean {
  try {
    Deno.statSync(`/proc/${Deno.pid}/task`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Samples the subjects at `start()` and `stop()`. Processes found only at
 * one end (a backend that connected meanwhile) count from zero or up to
 * their last sample, so short-lived ones are undercounted, never doubled.
 */
export class CpuMeter {
  #start = new Map<string, Map<number, number>>();
  #end = new Map<string, Map<number, number>>();
  #t0 = 0;
  #t1 = 0;

  constructor(readonly subjects: CpuSubject[]) {}

  #sample(): Map<string, Map<number, number>> {
    const all = new Map<string, Map<number, number>>();
    for (const s of this.subjects) {
      const pids = typeof s.pids === "function" ? s.pids() : s.pids;
      all.set(s.name, new Map(pids.map((p) => [p, threadCpuNs(p)])));
    }
    return all;
  }

  /** Marks the start of the window. */
  start(): void {
    this.#t0 = performance.now();
    this.#start = this.#sample();
  }

  /** Marks the end of the window. */
  stop(): void {
    this.#end = this.#sample();
    this.#t1 = performance.now();
  }

  /** Use per subject over the window, per order when `orders` > 0. */
  use(orders: number): CpuUse[] {
    const wallS = Math.max(0.001, (this.#t1 - this.#t0) / 1000);
    return this.subjects.map(({ name }) => {
      const a = this.#start.get(name) ?? new Map();
      const b = this.#end.get(name) ?? new Map();
      let ns = 0;
      for (const [pid, end] of b) ns += Math.max(0, end - (a.get(pid) ?? 0));
      const seconds = ns / 1e9;
      return {
        name,
        seconds: Math.round(seconds * 1000) / 1000,
        cores: Math.round((seconds / wallS) * 100) / 100,
        usPerOrder: orders > 0
          ? Math.round((ns / 1000 / orders) * 10) / 10
          : null,
      };
    });
  }
}
