/** Sustained order traffic for `load` and `crash-test`: N connections placing orders, with a read mix. */
import type { Ack } from "./audit.ts";
import {
  durationFlag,
  type Flags,
  numberFlag,
  type OptionTable,
} from "./cli.ts";
import { sleep } from "./cli.ts";
import { bearer, getJson } from "./http.ts";
import { type Placed, placeOrder } from "./orders.ts";
import { HttpConnection } from "./raw_http.ts";
import { dueAfter, rampMsOf } from "./schedule.ts";
import { summarize, Tally, Timeline } from "./stats.ts";

/** The menu items a run orders: one tracked item made for it, plus untracked ones. */
export interface RunMenu {
  tracked: { id: number; initial: number };
  untracked: number[];
}

/** Creates a tracked item with `stock` for this run and picks the untracked, available items. */
export async function prepareMenu(
  base: string,
  opts: { tag: string; stock: number; token?: string },
): Promise<RunMenu> {
  const { body: item } = await getJson<{ id: number; stock: number }>(
    `${base}/menu`,
    {
      method: "POST",
      body: {
        name: `Load test special ${opts.tag}`,
        price: 9.5,
        category: "Load test",
        stock: opts.stock,
      },
      headers: bearer(opts.token),
    },
  );
  const { body: menu } = await getJson<
    { id: number; stock: number | null; available: boolean }[]
  >(
    `${base}/menu?available=true`,
  );
  const untracked = menu.filter((m) => m.stock === null).map((m) => m.id).slice(
    0,
    8,
  );
  if (untracked.length === 0) {
    throw new Error("the menu has no available untracked item to order");
  }
  return { tracked: { id: item.id, initial: item.stock }, untracked };
}

/** Flags shared by the order-load tasks. */
export const WORKLOAD_OPTIONS: OptionTable = {
  connections: { type: "string" },
  duration: { type: "string" },
  faults: { type: "string" },
  stock: { type: "string" },
};

/** Help text of `WORKLOAD_OPTIONS` with the task's defaults. */
export function workloadHelp(d: { connections: number; durationMs: number }) {
  return `
  --connections N     concurrent order-placing connections (default ${d.connections})
  --duration D        how long orders keep coming: 10, 10s, 500ms (default ${
    d.durationMs / 1000
  }s)
  --faults R          share of orders whose first attempt is aborted mid-flight, then retried (default 0)
  --stock N           stock of the tracked item created for the run (default 1000000)`;
}

/** Reads `WORKLOAD_OPTIONS`, with the task's defaults. */
export function workloadFlags(
  flags: Flags,
  d: { connections: number; durationMs: number },
) {
  return {
    connections: numberFlag(flags, "connections", d.connections, {
      min: 1,
      max: 10_000,
    }),
    durationMs: durationFlag(flags, "duration", d.durationMs),
    faultRate: numberFlag(flags, "faults", 0, { min: 0, max: 1, int: false }),
    stock: numberFlag(flags, "stock", 1_000_000, {
      min: 1,
      max: 1_000_000_000,
    }),
  };
}

/** How the traffic runs. */
export interface WorkloadOptions {
  base: string;
  menu: RunMenu;
  connections: number;
  durationMs: number;
  /** Share of orders whose first attempt is aborted mid-flight. */
  faultRate: number;
  /** Share of iterations that read `GET /orders` instead of placing an order. */
  readShare: number;
  /** Tags keys and notes of this run. */
  tag: string;
  retryForMs?: number;
  /**
   * Orders per second offered on a fixed schedule (open loop). Latency then
   * counts from each order's scheduled start, so a stalled server cannot
   * hide its backlog. Unset: every connection sends again as soon as it is
   * answered (closed loop, the most the server takes).
   */
  rate?: number;
  /**
   * Traffic before the measured window, same shape, so the server's and the
   * client's JIT are warm: its orders are audited, its latencies not counted.
   * A paced run ramps up to `rate` over its first half and holds `rate` for
   * the second (`schedule.ts`).
   */
  warmupMs?: number;
  /** Told when the measured window starts and ends (CPU accounting). */
  window?: { start(): void; stop(): void };
}

/** Counters, acknowledgements and latencies of a run; live while it runs. */
export class Workload {
  readonly acks: Ack[] = [];
  /** Latency of each acknowledging attempt. */
  readonly orderMs: number[] = [];
  readonly readMs: number[] = [];
  /**
   * Paced runs: from each measured order's scheduled start until the client
   * sends it. A connection still waiting for its previous answer (the server
   * is behind) and the client's own late timers both show here.
   */
  readonly sendLagMs: number[] = [];
  timeline = new Timeline();
  readonly finals = new Tally();
  readonly count = {
    acked: 0,
    rejected: 0,
    gaveUp: 0,
    inflight: 0,
    attempts: 0,
    faults: 0,
    transportErrors: 0,
    serverErrors: 0,
    inFlight409: 0,
    retried: 0,
    replayedAfterRetry: 0,
    /** Acknowledged orders that started inside the measured window. */
    measured: 0,
    reads: 0,
    readErrors: 0,
  };
  wallMs = 0;
  #next = 0;
  #startAt = 0;
  #measureFrom = 0;
  #stopAt = Infinity;

  constructor(readonly opts: WorkloadOptions) {}

  #body(n: number) {
    const { menu } = this.opts;
    const extra = menu
      .untracked[Math.floor(Math.random() * menu.untracked.length)]!;
    return {
      items: [
        {
          menu_item_id: menu.tracked.id,
          quantity: 1 + Math.floor(Math.random() * 2),
        },
        { menu_item_id: extra, quantity: 1 + Math.floor(Math.random() * 2) },
      ],
      notes: `${this.opts.tag} #${n}`,
      customer_name: `Load ${n % 100}`,
    };
  }

  #record(notes: string, p: Placed, startedAt: number) {
    const c = this.count;
    c.attempts += p.attempts;
    c.faults += p.faults;
    c.transportErrors += p.transportErrors;
    c.serverErrors += p.serverErrors;
    c.inFlight409 += p.inFlight409;
    if (p.attempts > 1) c.retried++;
    this.finals.add(p.result === "acked" ? 200 : p.code ?? p.result);
    if (p.result === "acked") {
      c.acked++;
      if (p.attempts > 1 && p.replayed) c.replayedAfterRetry++;
      this.acks.push({ id: p.id!, notes });
      if (startedAt >= this.#measureFrom) {
        c.measured++;
        this.orderMs.push(p.ms);
      }
      this.timeline.add(p.ms);
    } else if (p.result === "rejected") c.rejected++;
    else c.gaveUp++;
  }

  async #read(conn: HttpConnection) {
    const o = await conn.send(`${this.opts.base}/orders?limit=20`, {
      timeoutMs: 30_000,
    });
    this.count.reads++;
    if (o.kind === "response" && o.status === 200) this.readMs.push(o.ms);
    else this.count.readErrors++;
  }

  /** When the next iteration is due (paced runs), or null when the run is over. */
  #ticket(): { n: number; dueAt?: number } | null {
    const now = performance.now();
    const n = ++this.#next;
    if (!this.opts.rate) return now < this.#stopAt ? { n } : null;
    // Reads take their own slots, so orders arrive at `rate` per second.
    const perIteration = 1000 * (1 - this.opts.readShare) / this.opts.rate;
    const dueAt = this.#startAt +
      dueAfter(n - 1, perIteration, rampMsOf(this.opts.warmupMs ?? 0));
    return dueAt < this.#stopAt ? { n, dueAt } : null;
  }

  async #worker() {
    const { opts } = this;
    const conn = new HttpConnection(opts.base);
    try {
      for (let t = this.#ticket(); t; t = this.#ticket()) {
        if (t.dueAt !== undefined && t.dueAt > performance.now()) {
          await sleep(t.dueAt - performance.now());
        }
        if (Math.random() < opts.readShare) {
          await this.#read(conn);
          continue;
        }
        const body = this.#body(t.n);
        const startedAt = t.dueAt ?? performance.now();
        if (t.dueAt !== undefined && startedAt >= this.#measureFrom) {
          this.sendLagMs.push(performance.now() - t.dueAt);
        }
        this.count.inflight++;
        const p = await placeOrder(opts.base, `${opts.tag}-${t.n}`, body, {
          faultRate: opts.faultRate,
          retryForMs: opts.retryForMs,
          via: conn,
          dueAt: t.dueAt,
        });
        this.count.inflight--;
        this.#record(body.notes, p, startedAt);
      }
    } finally {
      conn.close();
    }
  }

  /** Runs for `durationMs`; every order started is carried to a final answer before it resolves. */
  async run(): Promise<void> {
    const t0 = performance.now();
    this.timeline = new Timeline(t0);
    this.#startAt = t0;
    this.#measureFrom = t0 + (this.opts.warmupMs ?? 0);
    this.#stopAt = this.#measureFrom + this.opts.durationMs;
    const win = this.opts.window;
    let open = false;
    const timers = win
      ? [
        setTimeout(() => {
          open = true;
          win.start();
        }, this.#measureFrom - t0),
        setTimeout(() => {
          open = false;
          win.stop();
        }, this.#stopAt - t0),
      ]
      : [];
    try {
      await Promise.all(
        Array.from({ length: this.opts.connections }, () => this.#worker()),
      );
    } finally {
      timers.forEach(clearTimeout);
      // The last answer can come before the stop timer fires: close the window.
      if (open) win!.stop();
    }
    this.wallMs = performance.now() - t0;
  }

  /** A one-line live status. */
  status(): string {
    const c = this.count;
    const now = performance.now();
    const rate = c.acked / Math.max(0.001, (now - this.#startAt) / 1000);
    const phase = now < this.#measureFrom ? "warming up  " : "";
    return `${phase}acked ${c.acked} (${
      Math.round(rate)
    }/s)  rejected ${c.rejected}  in flight ${c.inflight}  ` +
      `faults ${c.faults}  transport errors ${c.transportErrors}  5xx ${c.serverErrors}  reads ${c.reads}`;
  }

  /** The figures for a report. */
  summary() {
    return {
      wall_ms: Math.round(this.wallMs),
      warmup_ms: this.opts.warmupMs ?? 0,
      offered_per_s: this.opts.rate ?? null,
      /** Acknowledged orders that started in the measured window, per second of it. */
      orders_per_s: Math.round(
        (this.count.measured / this.opts.durationMs) * 1000,
      ),
      counts: this.count,
      final_answers: this.finals.counts,
      order_latency_ms: summarize(this.orderMs),
      read_latency_ms: summarize(this.readMs),
      /** Paced runs only: scheduled start → sent, for the measured orders. */
      send_lag_ms: this.opts.rate ? summarize(this.sendLagMs) : null,
      per_second: this.timeline.series(),
    };
  }
}
