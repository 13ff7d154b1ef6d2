/**
 * Sustained `POST /orders` at a fixed number of connections with a read mix
 * (kitchen event streams, `GET /orders`), optional injected aborts retried
 * with the same Idempotency-Key, and a closing audit against the database.
 *
 *   deno task load [--connections 256] [--duration 10s] [--faults 0.1]
 *                  [--sse 4] [--read-share 0.05] [--stock N] [--url URL | --database-url URL]
 *
 * @module
 */
import { auditMarkdown, newestOrderId } from "./_lib/audit.ts";
import { fail, numberFlag, parseFlags, runId, stringFlag } from "./_lib/cli.ts";
import { note, Progress } from "./_lib/progress.ts";
import { commandLine, header, writeReport } from "./_lib/report.ts";
import { openTarget } from "./_lib/target.ts";
import {
  auditWorkload,
  prepareMenu,
  timelineChart,
  Workload,
  WORKLOAD_OPTIONS,
  workloadFlags,
  workloadHelp,
  workloadMarkdown,
} from "./_lib/workload.ts";

const DEFAULTS = { connections: 256, durationMs: 10_000 };
const USAGE = `Usage: deno task load [options]${workloadHelp(DEFAULTS)}
  --sse N             kitchen event streams kept open on /kitchen/events (default 4)
  --read-share R      share of iterations that read GET /orders instead (default 0.05)`;

/** Kitchen screens: open streams on /kitchen/events that count `order.created` events. */
class KitchenStreams {
  readonly seen: number[] = [];
  skipped?: string;
  readonly #readers: ReadableStreamDefaultReader<string>[] = [];
  readonly #done: Promise<void>[] = [];

  /** Opens `n` streams; notes a skip when the route does not exist. */
  async open(base: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const o = await fetch(`${base}/kitchen/events`).catch((e: Error) => e);
      if (o instanceof Error || o.status !== 200 || !o.body) {
        if (!(o instanceof Error)) await o.body?.cancel();
        this.skipped = o instanceof Error
          ? `could not connect to /kitchen/events (${o.message}); kitchen streams skipped`
          : `GET /kitchen/events answered ${o.status}; kitchen streams skipped`;
        return;
      }
      const reader = o.body.pipeThrough(new TextDecoderStream()).getReader();
      this.seen.push(0);
      this.#readers.push(reader);
      this.#done.push(this.#read(reader, i));
    }
  }

  async #read(reader: ReadableStreamDefaultReader<string>, i: number) {
    let rest = "";
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        const lines = (rest + value).split("\n");
        rest = lines.pop()!;
        for (const l of lines) {
          if (l === "event: order.created") this.seen[i]!++;
        }
      }
    } catch { /* cancelled by close() */ }
  }

  /** Waits up to `ms` for every stream to have seen `expected` creations, then closes them. */
  async close(expected: number, ms = 5000): Promise<void> {
    const until = performance.now() + ms;
    while (this.seen.some((s) => s < expected) && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(
      this.#readers.splice(0).map((r) => r.cancel().catch(() => {})),
    );
    await Promise.all(this.#done);
  }
}

async function main() {
  const flags = parseFlags(Deno.args, {
    ...WORKLOAD_OPTIONS,
    sse: { type: "string" },
    "read-share": { type: "string" },
  }, USAGE);
  const { connections, durationMs, faultRate, stock } = workloadFlags(
    flags,
    DEFAULTS,
  );
  const sse = numberFlag(flags, "sse", 4, { min: 0, max: 1000 });
  const readShare = numberFlag(flags, "read-share", 0.05, {
    min: 0,
    max: 0.9,
    int: false,
  });
  const tag = `load-${runId()}`;

  const target = await openTarget(flags);
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: connections });
  const kitchen = new KitchenStreams();
  try {
    note(
      `load: ${connections} connections for ${
        durationMs / 1000
      } s, faults ${faultRate}, against ${target.label}`,
    );
    const menu = await prepareMenu(target.url, {
      tag,
      stock,
      token: stringFlag(flags, "token"),
    });
    const before = await newestOrderId(target.url);
    await kitchen.open(target.url, sse);
    const w = new Workload({
      base: target.url,
      menu,
      connections,
      durationMs,
      faultRate,
      readShare,
      tag,
      client,
    });
    const progress = new Progress(() => w.status());
    await w.run();
    progress.stop();
    note("auditing against GET /orders and GET /menu/{id} …");
    const audit = await auditWorkload(target.url, before, w);
    await kitchen.close(audit.orders.found);
    const summary = w.summary();
    const data = {
      task: "load",
      settings: {
        connections,
        duration_ms: durationMs,
        faults: faultRate,
        sse,
        read_share: readShare,
        stock,
      },
      target: target.label,
      ...summary,
      kitchen: {
        streams: kitchen.seen.length,
        order_created_seen: kitchen.seen,
        skipped: kitchen.skipped,
      },
      server_error_log_lines: target.server?.errorLines() ?? null,
      audit,
      passed: audit.passed,
    };
    const command = commandLine("load", Deno.args);
    const markdown = (svg?: string) =>
      [
        header("Sustained order load with a closing audit", {
          passed: audit.passed,
          command,
          target: target.label,
        }),
        `${connections} connections placed orders for ${
          durationMs / 1000
        } s (one tracked item, stock ${stock}, plus untracked items; ` +
        `${
          Math.round(readShare * 100)
        }% of iterations read \`GET /orders\` instead). ` +
        (faultRate > 0
          ? `${
            Math.round(faultRate * 100)
          }% of orders had their first attempt aborted mid-flight and retried with the same Idempotency-Key.`
          : "No injected faults."),
        "",
        "## Throughput and latency",
        "",
        workloadMarkdown(summary),
        "",
        `Kitchen screens: ${
          kitchen.skipped ??
            `${kitchen.seen.length} streams on /kitchen/events saw ${
                kitchen.seen.join(", ")
              } \`order.created\` events ` +
              `for ${audit.orders.found} orders of this run`
        }.`,
        "",
        svg ? `![orders per second and p99 latency](${svg})\n` : "",
        "## Audit",
        "",
        auditMarkdown(audit.orders, audit.stock),
        "",
      ].join("\n");
    const files = await writeReport(
      `load${faultRate > 0 ? "-faults" : ""}${
        target.server?.databaseUrl.startsWith("postgres") ? "-postgres" : ""
      }`,
      {
        markdown,
        data,
        svg: timelineChart(
          `POST /orders, ${connections} connections`,
          summary.per_second,
        ),
      },
      flags.out as string | undefined,
    );
    note(
      `report: ${files.markdown}\n${
        audit.passed ? "PASS" : "FAIL"
      }: ${summary.orders_per_s} orders/s, ` +
        `p99 ${summary.order_latency_ms.p99} ms, lost ${audit.orders.lost}, duplicated ${audit.orders.duplicated}, ` +
        `stock conserved ${audit.stock.conserved}`,
    );
    if (!audit.passed) Deno.exitCode = 1;
  } finally {
    await kitchen.close(0, 0);
    client.close();
    await target.close();
  }
}

if (import.meta.main) {
  main().catch((e) =>
    fail(`load failed: ${e instanceof Error ? e.message : e}`)
  );
}
