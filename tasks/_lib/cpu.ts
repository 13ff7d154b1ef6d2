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

/** How the whole machine's CPUs spent a window, as shares of all of them. */
export interface MachineUse {
  cpus: number;
  /** Running anything: user, nice, system, interrupts (any process, the kernel). */
  busy: number;
  idle: number;
  /** Idle while some I/O (an fsync, say) was outstanding. */
  iowait: number;
  /** Wanted to run but the hypervisor ran someone else. */
  steal: number;
}

type MachineTicks = {
  busy: number;
  idle: number;
  iowait: number;
  steal: number;
};

/** The `cpu` line of `/proc/stat` (ticks since boot), or null without it. */
export function machineTicks(stat?: string): MachineTicks | null {
  try {
    const text = stat ?? Deno.readTextFileSync("/proc/stat");
    const line = text.split("\n").find((l) => l.startsWith("cpu "));
    if (!line) return null;
    // user nice system idle iowait irq softirq steal (guest time is in user)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim().split(/\s+/).slice(1).map(Number);
    const busy = user! + nice! + system! + (irq ?? 0) + (softirq ?? 0);
    return { busy, idle: idle!, iowait: iowait ?? 0, steal: steal ?? 0 };
  } catch {
    return null;
  }
}

/** Shares of the window between two `machineTicks` samples. */
export function machineUse(
  a: MachineTicks,
  b: MachineTicks,
  cpus: number,
): MachineUse {
  const d = {
    busy: b.busy - a.busy,
    idle: b.idle - a.idle,
    iowait: b.iowait - a.iowait,
    steal: b.steal - a.steal,
  };
  const total = Math.max(1, d.busy + d.idle + d.iowait + d.steal);
  const share = (n: number) => Math.round((n / total) * 1000) / 1000;
  return {
    cpus,
    busy: share(d.busy),
    idle: share(d.idle),
    iowait: share(d.iowait),
    steal: share(d.steal),
  };
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
  #machine: (MachineTicks | null)[] = [null, null];

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
    this.#machine = [machineTicks(), null];
  }

  /** Marks the end of the window. */
  stop(): void {
    this.#end = this.#sample();
    this.#machine[1] = machineTicks();
    this.#t1 = performance.now();
  }

  /** The whole machine over the window (every process, the kernel), if `/proc/stat` was readable. */
  machine(): MachineUse | null {
    const [a, b] = this.#machine;
    return a && b ? machineUse(a, b, navigator.hardwareConcurrency) : null;
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
