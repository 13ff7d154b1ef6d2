/**
 * PostgreSQL goes away under light load and comes back: the server answers
 * 503 with Retry-After quickly instead of hanging, `/health` says so, and the
 * same process recovers without a restart. Uses its own throwaway cluster (own
 * folder and port) so no other test loses its database.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  findPgBinDir,
  startCluster,
  stopCluster,
} from "../db/postgres/cluster.ts";
import { postgresSkipReason, spawnWatchdog, startServer } from "./_postgres.ts";

const skip = findPgBinDir() === null && Deno.env.get("CI") !== "true"
  ? postgresSkipReason() ?? "no PostgreSQL server binaries"
  : undefined;

/** What one request got, and how long it took. */
interface Sample {
  what: string;
  status: number;
  retryAfter: string | null;
  ms: number;
  startedAt: number;
}

async function sample(
  what: string,
  url: string,
  init?: RequestInit,
): Promise<Sample> {
  const t = performance.now();
  try {
    const res = await fetch(url, {
      ...init,
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    return {
      what,
      status: res.status,
      retryAfter: res.headers.get("retry-after"),
      ms: performance.now() - t,
      startedAt: t,
    };
  } catch {
    // No answer at all (hang or dropped connection): status 0 fails the checks.
    return {
      what,
      status: 0,
      retryAfter: null,
      ms: performance.now() - t,
      startedAt: t,
    };
  }
}

/** Light load: four orders, the menu and /health, about every 50 ms, until stopped. */
function lightLoad(base: string, menuItemId: number) {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const round = await Promise.all([
        // Several orders at once: one of them is often waiting for a
        // connection of its own just as PostgreSQL goes or comes back.
        ...Array.from(
          { length: 4 },
          () =>
            sample("POST /orders", `${base}/orders`, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                "idempotency-key": crypto.randomUUID(),
              },
              body: JSON.stringify({
                items: [{ menu_item_id: menuItemId, quantity: 1 }],
              }),
            }),
        ),
        sample("GET /menu", `${base}/menu`),
        sample("GET /health", `${base}/health`),
      ]);
      samples.push(...round);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    samples,
    /** Samples of requests started after `t` (performance.now()). */
    since: (t: number) => samples.filter((s) => s.startedAt >= t),
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function until(cond: () => Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test({
  name:
    "[postgres] when PostgreSQL stops the server answers 503 + Retry-After fast, and recovers when it is back",
  ignore: skip !== undefined,
  sanitizeResources: false, // the child's pipes close after the test body
  async fn() {
    const parent = await Deno.makeTempDir({ prefix: "forkflow-outage-" });
    await Deno.chmod(parent, 0o755); // the postgres OS user must reach it
    const dir = join(parent, "pg");
    const cluster = await startCluster({ dir, port: 0, quiet: true });
    await spawnWatchdog(dir, Deno.pid); // even if this process is killed mid-test
    const server = await startServer({
      DATABASE_URL: cluster.url,
      DEMO_DATA: "1",
    });
    let load: ReturnType<typeof lightLoad> | null = null;
    try {
      const menu = await (await fetch(`${server.base}/menu`)).json() as {
        id: number;
        stock: number | null;
      }[];
      load = lightLoad(server.base, menu.find((m) => m.stock === null)!.id);
      await until(
        () => Promise.resolve(load!.samples.length >= 15),
        10_000,
        "warm-up",
      );
      const warm = load.samples.slice();
      assert.ok(warm.every((s) => s.status === 200), "all 200 while up");

      await stopCluster({ dir, quiet: true, mode: "fast" });
      const down = performance.now();
      await new Promise((r) => setTimeout(r, 2_500));
      const during = load.since(down);
      assert.ok(
        during.length >= 9,
        `requests kept being answered (${during.length})`,
      );
      for (const s of during) {
        assert.equal(s.status, 503, `${s.what} while down`);
        assert.ok(s.retryAfter !== null, `${s.what} has Retry-After`);
        assert.ok(s.ms < 2_000, `${s.what} answered in ${s.ms.toFixed(0)} ms`);
      }
      assert.ok(during.some((s) => s.what === "GET /health"));

      await startCluster({ dir, quiet: true });
      await until(
        async () =>
          (await sample("GET /health", `${server.base}/health`)).status === 200,
        15_000,
        "health after restart",
      );
      const up = performance.now();
      await until(
        () => Promise.resolve(load!.since(up).length >= 9),
        10_000,
        "load",
      );
      const after = load.since(up);
      assert.deepEqual(
        [...new Set(after.map((s) => s.status))],
        [200],
        "recovered: every request succeeds again",
      );
      assert.ok(server.alive(), "the same server process, never restarted");
      const odd = load.samples.filter((s) =>
        s.status !== 200 && s.status !== 503
      );
      assert.deepEqual(odd, [], "nothing but 200 and 503, even mid-shutdown");
    } catch (e) {
      const slow = load?.samples.filter((s) => s.ms >= 2_000 || s.status === 0);
      console.error(
        "slow or unanswered:",
        slow,
        "\nserver log:\n",
        server.output(),
      );
      throw e;
    } finally {
      await load?.stop();
      await server.stop();
      await stopCluster({ dir, wipe: true, quiet: true }).catch(() => {});
      await Deno.remove(parent, { recursive: true }).catch(() => {});
    }
  },
});
