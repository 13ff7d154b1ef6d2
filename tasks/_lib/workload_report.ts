/** A finished workload: its audit against the database, its figures as Markdown, its chart. */
import { auditOrders, auditPassed, auditStock, ordersAfter } from "./audit.ts";
import { int, mdTable, ms } from "./report.ts";
import { chart, type Series } from "./svg.ts";
import { RAMP_FROM, RAMP_SHARE } from "./schedule.ts";
import type { Workload } from "./workload.ts";

/** Audits a finished workload against the database through the API. */
export async function auditWorkload(
  base: string,
  beforeId: number,
  w: Workload,
) {
  const prefix = `${w.opts.tag} #`;
  const mine = (await ordersAfter(base, beforeId)).filter((o) =>
    (o.notes ?? "").startsWith(prefix)
  );
  const orders = auditOrders(w.acks, mine);
  const stock = await auditStock(base, w.opts.menu.tracked, w.acks, mine);
  const ids = new Set(mine.map((o) => o.id));
  return {
    orders,
    stock,
    passed: auditPassed(orders, stock) && w.count.gaveUp === 0,
    /** Whether an order id of this run is in the database (not serialised). */
    isPresent: (id: number) => ids.has(id),
  };
}

/** Throughput and latency of a workload as Markdown. */
export function workloadMarkdown(s: ReturnType<Workload["summary"]>): string {
  const c = s.counts, o = s.order_latency_ms, r = s.read_latency_ms;
  return [
    mdTable(["figure", "value"], [
      ["acknowledged orders (200), warm-up included", int(c.acked)],
      [
        "**orders/s** (acknowledged orders started in the measured window ÷ its length)",
        `**${int(s.orders_per_s)}**`,
      ],
      [
        "offered",
        s.offered_per_s === null
          ? "closed loop (each connection sends again once answered)"
          : `${int(s.offered_per_s)} orders/s on a fixed schedule (open loop)`,
      ],
      [
        "warm-up (audited, not timed)",
        `${(s.warmup_ms / 1000).toFixed(1)} s${
          s.offered_per_s === null || s.warmup_ms === 0
            ? ""
            : `, offered rate ramped from ${
              RAMP_FROM * 100
            } % to 100 % over the first ${RAMP_SHARE * 100} %, then held`
        }`,
      ],
      ["wall time", `${(s.wall_ms / 1000).toFixed(2)} s`],
      ["rejected (final 4xx)", int(c.rejected)],
      ["gave up (retries exhausted)", int(c.gaveUp)],
      ["attempts", int(c.attempts)],
      ["injected aborts (retried with the same key)", int(c.faults)],
      ["transport errors (retried with the same key)", int(c.transportErrors)],
      ["5xx answers (retried with the same key)", int(c.serverErrors)],
      ["409 key in flight (waited Retry-After)", int(c.inFlight409)],
      ["orders that needed a retry", int(c.retried)],
      [
        "… answered as replay (`Idempotent-Replayed: true`)",
        int(c.replayedAfterRetry),
      ],
      ["GET /orders reads (errors)", `${int(c.reads)} (${int(c.readErrors)})`],
    ]),
    "",
    s.offered_per_s === null
      ? "Latency in ms (the acknowledging attempt of each order in the measured window; reads separately):"
      : "Latency in ms (from each order's scheduled start to its acknowledgement, so queueing counts; reads separately):",
    "",
    mdTable(["request", "count", "p50", "p95", "p99", "max"], [
      [
        "POST /orders",
        int(o.count),
        ms(o.p50),
        ms(o.p95),
        ms(o.p99),
        ms(o.max),
      ],
      ...(s.send_lag_ms
        ? [[
          "… of which waiting to be sent (no free connection, or the client's own timers late)",
          int(s.send_lag_ms.count),
          ms(s.send_lag_ms.p50),
          ms(s.send_lag_ms.p95),
          ms(s.send_lag_ms.p99),
          ms(s.send_lag_ms.max),
        ]]
        : []),
      [
        "GET /orders?limit=20",
        int(r.count),
        ms(r.p50),
        ms(r.p95),
        ms(r.p99),
        ms(r.max),
      ],
    ]),
    "",
    `Final answers: ${
      Object.entries(s.final_answers).map(([k, v]) => `${k} × ${v}`).join(", ")
    }`,
  ].join("\n");
}

/** Orders per second (bars) and p99 per second (line) over the run. */
export function timelineChart(
  title: string,
  perSecond: { second: number; done: number; p99: number }[],
  markers: { index: number; label: string }[] = [],
): string {
  const series: Series[] = [
    {
      name: "orders/s",
      values: perSecond.map((p) => p.done),
      kind: "bar",
      color: "#1971c2",
    },
    {
      name: "p99 ms",
      values: perSecond.map((p) => p.done ? p.p99 : null),
      axis: "right",
      color: "#d9480f",
    },
  ];
  return chart({
    title,
    xLabels: perSecond.map((p) => String(p.second)),
    xTitle: "second of the run",
    leftTitle: "acknowledged orders per second",
    rightTitle: "latency (ms)",
    series,
    markers,
  });
}
