import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** A real `main.ts` process on a random loopback port. */
interface ServerProcess {
  base: string;
  child: Deno.ChildProcess;
  /** Everything the process wrote to stderr, once it has exited. */
  stderr: Promise<string>;
}

async function startServer(
  dbUrl: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: dbUrl,
      DEMO_DATA: "1",
      LOG_LEVEL: "warn",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { value, done } = await lines.read();
    if (done) break;
    seen += value;
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
    if (m) {
      const rest = (async () => {
        for (;;) {
          const r = await lines.read();
          if (r.done) return seen;
          seen += r.value;
        }
      })();
      return { base: m[1]!, child, stderr: rest };
    }
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(`server did not start:\n${seen}`);
}

interface Ack {
  id: number;
  tag: string;
}

Deno.test({
  name:
    "SIGTERM mid-rush: exits 0 and every acknowledged order exists exactly once after restart",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "forkflow-shutdown-" });
    const dbUrl = `file:${dir}/shutdown.db`;
    try {
      const first = await startServer(dbUrl);
      // A kitchen screen is connected: shutdown must end its stream, not wait for it.
      const feed = await fetch(`${first.base}/kitchen/events`);
      assert.equal(feed.status, 200);
      const feedText = new Response(feed.body).text().catch((e) => `ERR ${e}`);
      let signalledAt = 0;
      const acks: Ack[] = [];
      let sent = 0;
      let inFlightAtSignal = -1;
      let failed = 0;
      let acksAfter = 0;
      const TOTAL = 3000;
      const WORKERS = 48;
      const signalAfter = 300;
      let next = 0;
      let inFlight = 0;
      const worker = async () => {
        while (next < TOTAL) {
          const tag = `rush-${next++}`;
          sent++;
          inFlight++;
          try {
            const res = await fetch(`${first.base}/orders`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                items: [{ menu_item_id: 1, quantity: 1 }],
                customer_name: tag,
              }),
            });
            const body = await res.text();
            if (res.status === 200) {
              acks.push({ id: JSON.parse(body).id, tag });
              if (inFlightAtSignal >= 0) acksAfter++;
            } else failed++;
          } catch {
            failed++; // connection refused or reset: never acknowledged
          } finally {
            inFlight--;
          }
          if (acks.length >= signalAfter && inFlightAtSignal < 0) {
            inFlightAtSignal = inFlight;
            signalledAt = performance.now();
            first.child.kill("SIGTERM");
          }
          if (inFlightAtSignal >= 0 && failed > 0 && sent > acks.length + 200) {
            return; // the server is gone; stop hammering a closed port
          }
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, worker));
      const status = await first.child.status;
      const stoppedMs = performance.now() - signalledAt;
      const log = await first.stderr;
      assert.equal(status.code, 0, `exit code; stderr:\n${log}`);
      assert.match(log, /SIGTERM received/);
      assert.ok(stoppedMs < 5000, `stopped ${stoppedMs} ms after SIGTERM`);
      assert.match(
        await feedText,
        /retry: \d+\n: server shutting down\n\n$/,
        "the open event stream ended with a retry hint",
      );
      assert.match(log, /stopped; every acknowledged write is committed/);
      assert.ok(inFlightAtSignal > 0, "requests were in flight at SIGTERM");
      assert.ok(acksAfter > 0, "requests in flight at SIGTERM were answered");
      assert.ok(acks.length >= signalAfter);

      const second = await startServer(dbUrl);
      try {
        const res = await fetch(`${second.base}/orders?limit=1000`);
        const orders: { id: number; customer_name: string }[] = [];
        let url: string | null = `${second.base}/orders?limit=1000`;
        await res.body?.cancel();
        while (url) {
          const page: Response = await fetch(url);
          orders.push(...await page.json());
          const link = page.headers.get("link");
          url = link ? `${second.base}${/<([^>]+)>/.exec(link)![1]}` : null;
        }
        const byTag = new Map<string, number[]>();
        for (const o of orders) {
          byTag.set(o.customer_name, [
            ...(byTag.get(o.customer_name) ?? []),
            o.id,
          ]);
        }
        for (const a of acks) {
          assert.deepEqual(byTag.get(a.tag), [a.id], `order ${a.tag}`);
        }
        for (const [tag, ids] of byTag) {
          assert.equal(ids.length, 1, `${tag} stored once`);
        }
        assert.ok(orders.length <= sent);
      } finally {
        second.child.kill("SIGTERM");
        assert.equal((await second.child.status).code, 0);
        await second.stderr;
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("an open non-loopback HOST refuses to start with one line saying why", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      HOST: "0.0.0.0",
      PORT: "0",
      DEMO_DATA: "0",
      DATABASE_URL: "file:/nonexistent-dir-never-opened/x.db",
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const out = await child.output();
  clearTimeout(guard);
  assert.equal(out.code, 2);
  const text = new TextDecoder().decode(out.stderr).trim();
  assert.equal(text.split("\n").length, 1, text);
  assert.match(text, /^forkflow: Invalid HOST: refusing .*ALLOW_OPEN=1/);
});
