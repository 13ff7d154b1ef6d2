import assert from "node:assert/strict";
import { Hono } from "hono";
import { createApp } from "../app.ts";
import {
  clientKey,
  CONTENT_SECURITY_POLICY,
  WriteLimiter,
} from "../routes/_security.ts";
import {
  addItem,
  jsonReq,
  openTempLibsql,
  testConfig,
  withServer,
} from "./_helpers.ts";
import type { Config } from "../config.ts";

async function appWith(over: Partial<Config> = {}) {
  const db = await openTempLibsql();
  const app = createApp({ config: testConfig(over), store: db.store });
  return { ...db, app };
}

function assertHardened(res: Response, what: string) {
  assert.equal(
    res.headers.get("content-security-policy"),
    CONTENT_SECURITY_POLICY,
    what,
  );
  assert.equal(res.headers.get("x-content-type-options"), "nosniff", what);
  assert.equal(res.headers.get("x-frame-options"), "DENY", what);
  assert.equal(res.headers.get("referrer-policy"), "no-referrer", what);
}

Deno.test("security headers are on pages, API answers and errors", async () => {
  const { app, cleanup } = await appWith();
  try {
    for (
      const [path, init] of [
        ["/docs", {}],
        ["/static/docs.js", {}],
        ["/menu", {}],
        ["/health", {}],
        ["/no/such/route", {}],
        ["/orders", jsonReq("POST", "{not json")],
      ] as const
    ) {
      const res = await app.request(path, init);
      assertHardened(res, path);
      await res.body?.cancel();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("CSP: the CSP forbids inline code and the pages use none", async () => {
  assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
  assert.match(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval/);
  const pages: string[] = [];
  for (const dir of ["web", "kitchen"]) {
    try {
      for await (
        const e of Deno.readDir(new URL(`../${dir}/`, import.meta.url))
      ) {
        if (e.isFile && e.name.endsWith(".html")) {
          pages.push(`${dir}/${e.name}`);
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  assert.ok(pages.length >= 1);
  for (const page of pages) {
    const html = await Deno.readTextFile(
      new URL(`../${page}`, import.meta.url),
    );
    // Inline scripts, inline styles and handler attributes would need 'unsafe-inline'.
    assert.doesNotMatch(
      html,
      /<script(?![^>]*\ssrc=)[^>]*>/i,
      `${page}: inline <script>`,
    );
    assert.doesNotMatch(html, /<style[\s>]/i, `${page}: <style> block`);
    assert.doesNotMatch(html, /\sstyle\s*=/i, `${page}: style attribute`);
    assert.doesNotMatch(
      html,
      /\son[a-z]+\s*=/i,
      `${page}: inline event handler`,
    );
    assert.doesNotMatch(html, /javascript:/i, `${page}: javascript: URL`);
    // Every script, stylesheet and image comes from this origin.
    for (const m of html.matchAll(/\s(?:src|href)\s*=\s*["']([^"']*)["']/gi)) {
      assert.doesNotMatch(
        m[1]!,
        /^(?:[a-z]+:)?\/\//i,
        `${page}: external ${m[1]}`,
      );
    }
  }
});

Deno.test("CORS is off unless CORS_ORIGINS lists the origin", async (t) => {
  await t.step("off: no CORS headers, preflight is not answered", async () => {
    const { app, cleanup } = await appWith();
    try {
      const res = await app.request("/menu", {
        headers: { origin: "https://pos.example" },
      });
      assert.equal(res.headers.get("access-control-allow-origin"), null);
      await res.body?.cancel();
      const pre = await app.request("/orders", {
        method: "OPTIONS",
        headers: {
          origin: "https://pos.example",
          "access-control-request-method": "POST",
        },
      });
      assert.notEqual(pre.status, 204);
      assert.equal(pre.headers.get("access-control-allow-origin"), null);
      await pre.body?.cancel();
    } finally {
      await cleanup();
    }
  });
  await t.step("on: listed origins are reflected, others are not", async () => {
    const { app, cleanup } = await appWith({
      corsOrigins: ["https://pos.example", "http://127.0.0.1:5173"],
    });
    try {
      const pre = await app.request("/orders", {
        method: "OPTIONS",
        headers: {
          origin: "https://pos.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type, idempotency-key",
        },
      });
      assert.equal(pre.status, 204);
      assert.equal(
        pre.headers.get("access-control-allow-origin"),
        "https://pos.example",
      );
      assert.match(pre.headers.get("access-control-allow-methods")!, /POST/);
      assert.match(
        pre.headers.get("access-control-allow-headers")!,
        /Idempotency-Key/,
      );
      const res = await app.request("/menu", {
        headers: { origin: "http://127.0.0.1:5173" },
      });
      assert.equal(
        res.headers.get("access-control-allow-origin"),
        "http://127.0.0.1:5173",
      );
      assert.match(res.headers.get("vary")!, /Origin/);
      assert.match(
        res.headers.get("access-control-expose-headers")!,
        /X-Request-Id/,
      );
      await res.body?.cancel();
      const other = await app.request("/menu", {
        headers: { origin: "https://evil.example" },
      });
      assert.equal(other.headers.get("access-control-allow-origin"), null);
      await other.body?.cancel();
      const otherPre = await app.request("/orders", {
        method: "OPTIONS",
        headers: {
          origin: "https://evil.example",
          "access-control-request-method": "POST",
        },
      });
      assert.notEqual(otherPre.status, 204);
      assert.equal(otherPre.headers.get("access-control-allow-origin"), null);
      await otherPre.body?.cancel();
    } finally {
      await cleanup();
    }
  });
});

Deno.test("WriteLimiter refills at perMin per minute and names the wait", () => {
  const l = new WriteLimiter(60);
  for (let i = 0; i < 60; i++) assert.equal(l.take("a", 0), 0);
  assert.equal(l.take("a", 0), 1);
  assert.equal(l.take("b", 0), 0, "another client has its own bucket");
  assert.equal(l.take("a", 1000), 0, "one token back after a second");
  assert.equal(l.take("a", 1000), 1);
  const slow = new WriteLimiter(2);
  slow.take("x", 0);
  slow.take("x", 0);
  assert.equal(slow.take("x", 0), 30);
  const few = new WriteLimiter(1, 4);
  for (const k of ["a", "b", "c", "d", "e", "f"]) few.take(k, 0);
  assert.equal(few.take("f", 0), 60, "the newest bucket survives pruning");
});

Deno.test("RATE_LIMIT_WRITES_PER_MIN answers 429 with Retry-After on writes only", async () => {
  const { app, store, cleanup } = await appWith({ rateLimitWritesPerMin: 3 });
  try {
    const item = await addItem(store);
    const order = { items: [{ menu_item_id: item, quantity: 1 }] };
    await withServer(app.fetch, async (base) => {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${base}/orders`, jsonReq("POST", order));
        assert.equal(res.status, 200);
        await res.body?.cancel();
      }
      const res = await fetch(`${base}/orders`, jsonReq("POST", order));
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
      assert.equal((await res.json()).error.code, "rate_limited");
      const read = await fetch(`${base}/orders`);
      assert.equal(read.status, 200);
      await read.body?.cancel();
    });
    assert.equal((await store.listOrders({ limit: 10 })).length, 3);
  } finally {
    await cleanup();
  }
});

Deno.test("clientKey() reads the peer address, or falls back without one", async () => {
  const probe = new Hono().get("/", (c) => c.text(clientKey(c)));
  assert.equal(await (await probe.request("/")).text(), "local");
  await withServer(probe.fetch, async (base) => {
    assert.equal(await (await fetch(base)).text(), "127.0.0.1");
  });
});
