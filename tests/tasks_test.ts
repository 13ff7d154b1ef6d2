/**
 * The report tasks end to end, each on its own self-started server on
 * loopback with tiny settings: their closing audits must pass, read back
 * from the JSON reports they write.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../tasks/_lib/server.ts";
import { postgresTestBackend } from "./_postgres.ts";

async function runTask(script: string, args: string[]) {
  const out = await Deno.makeTempDir({ prefix: "forkflow-reports-" });
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `tasks/${script}`, ...args, "--out", out],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(res.stderr).slice(-2000);
  return { code: res.code, log, out };
}

async function latest(out: string, name: string) {
  const data = JSON.parse(
    await Deno.readTextFile(join(out, `${name}-latest.json`)),
  );
  const md = await Deno.readTextFile(join(out, `${name}-latest.md`));
  await Deno.remove(out, { recursive: true });
  return { data, md };
}

Deno.test("repro:orders acknowledges every order exactly once and says so in its report", async () => {
  const { code, log, out } = await runTask("repro_orders.ts", [
    "--cashiers",
    "3",
    "--orders",
    "3",
    "--delay-ms",
    "0",
  ]);
  assert.equal(code, 0, log);
  const { data, md } = await latest(out, "repro-orders-3x3");
  assert.equal(data.table.total, 9);
  assert.equal(data.table.successful, 9);
  assert.equal(data.table.duplicates, 0);
  assert.equal(data.audit.found, 9);
  assert.equal(data.audit.lost, 0);
  assert.equal(data.impact.lost_revenue_per_month, 0);
  assert.match(md, /\| Successful \(HTTP 200\) \| 9 \| 100\.0% \|/);
});

Deno.test("load with injected aborts loses and doubles nothing, and conserves stock", async () => {
  const { code, log, out } = await runTask("load.ts", [
    "--duration",
    "2",
    "--connections",
    "16",
    "--faults",
    "0.2",
    "--sse",
    "2",
  ]);
  assert.equal(code, 0, log);
  const { data } = await latest(out, "load-faults");
  assert.ok(data.counts.acked > 0);
  assert.ok(data.counts.faults > 0, "some first attempts were aborted");
  assert.equal(data.audit.orders.acknowledged, data.counts.acked);
  assert.equal(data.audit.orders.found, data.counts.acked);
  assert.equal(data.audit.orders.lost, 0);
  assert.equal(data.audit.orders.duplicated, 0);
  assert.equal(data.audit.stock.conserved, true);
  assert.ok(data.order_latency_ms.p99 > 0);
  // A closed loop has no schedule to be late for.
  assert.equal(data.send_lag_ms, null);
});

Deno.test("load --rate: paced orders are timed from their schedule, and the wait to be sent is shown apart", async () => {
  const { code, log, out } = await runTask("load.ts", [
    "--rate",
    "200",
    "--warmup",
    "1",
    "--duration",
    "2",
    "--connections",
    "8",
    "--sse",
    "1",
  ]);
  assert.equal(code, 0, log);
  const { data, md } = await latest(out, "load-rate");
  // A paced run leaves the closed loop's report alone.
  await assert.rejects(
    Deno.stat(join(out, "load-latest.json")),
    Deno.errors.NotFound,
  );
  assert.equal(data.offered_per_s, 200);
  assert.equal(data.audit.orders.lost, 0);
  assert.equal(data.audit.orders.duplicated, 0);
  const timed = data.order_latency_ms, lag = data.send_lag_ms;
  // 2 s at 200 orders/s (reads take slots of their own, drawn at random).
  assert.ok(Math.abs(timed.count - 400) <= 40, `${timed.count} orders`);
  assert.equal(lag.count, timed.count);
  // The wait to be sent is part of each order's latency.
  assert.ok(lag.max <= timed.max && lag.p50 <= timed.p50, JSON.stringify(data));
  assert.match(md, /\| … of which waiting to be sent/);
});

Deno.test("crash-test: orders acknowledged before each SIGKILL survive it exactly once", async () => {
  const { code, log, out } = await runTask("crash.ts", [
    "--kills",
    "2",
    "--duration",
    "3",
    "--connections",
    "8",
  ]);
  assert.equal(code, 0, log);
  const { data } = await latest(out, "crash-test");
  assert.equal(data.kills.length, 2);
  for (const k of data.kills) assert.equal(k.present_after, k.acked_before);
  assert.ok(data.kills[1].acked_before > 0);
  assert.equal(data.audit.orders.lost, 0);
  assert.equal(data.audit.orders.duplicated, 0);
  assert.equal(data.audit.orders.unacknowledged, 0);
  assert.equal(data.audit.stock.conserved, true);
});

const pg = postgresTestBackend();

Deno.test({
  name: "crash-test on PostgreSQL: SIGKILLs lose and double nothing",
  ignore: pg.skip !== undefined,
  async fn() {
    const db = await pg.open();
    try {
      const { code, log, out } = await runTask("crash.ts", [
        "--kills",
        "2",
        "--duration",
        "3",
        "--connections",
        "8",
        "--database-url",
        db.url,
      ]);
      assert.equal(code, 0, log);
      const { data } = await latest(out, "crash-test-postgres");
      for (const k of data.kills) assert.equal(k.present_after, k.acked_before);
      assert.ok(data.kills[1].acked_before > 0);
      assert.equal(data.audit.orders.lost, 0);
      assert.equal(data.audit.orders.duplicated, 0);
      assert.equal(data.audit.stock.conserved, true);
    } finally {
      await db.cleanup();
    }
  },
});

Deno.test("stress:vending answers every user and keeps stock exact at small levels", async () => {
  const { code, log, out } = await runTask("stress_vending.ts", [
    "--levels",
    "10,50",
    "--processing-ms",
    "0",
  ]);
  assert.equal(code, 0, log);
  const { data } = await latest(out, "stress-vending");
  assert.equal(data.levels.length, 2);
  for (const l of data.levels) {
    const start = l.start_work;
    assert.equal((start[200] ?? 0) + (start[409] ?? 0), l.users);
    assert.ok(l.purchases >= 5, "five idle machines after each reset");
    assert.equal(l.purchases, start[200]);
    assert.equal(l.timeouts + l.connection_errors, 0);
  }
  assert.equal(data.breaking_point, null);
  assert.equal(data.stock_integrity.exact, true);
  assert.equal(
    data.stock_integrity.initial - data.stock_integrity.purchases,
    data.stock_integrity.remaining,
  );
});
