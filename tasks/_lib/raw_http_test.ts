/** The load client's raw HTTP/1.1 connection against a real `Deno.serve`. */
import assert from "node:assert/strict";
import { freePort } from "./server.ts";
import { HttpConnection } from "./raw_http.ts";

async function withEcho(
  fn: (origin: string, hits: () => number) => Promise<void>,
) {
  let hits = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      hits++;
      const url = new URL(req.url);
      if (url.pathname === "/slow") {
        await new Promise((r) => setTimeout(r, 300));
        return new Response("late");
      }
      if (url.pathname === "/chunked") {
        const parts = ['{"a":', "[1,2,", "3]}"];
        return new Response(
          new ReadableStream({
            pull(c) {
              const p = parts.shift();
              if (p) c.enqueue(new TextEncoder().encode(p));
              else c.close();
            },
          }),
          { headers: { "content-type": "application/json" } },
        );
      }
      if (url.pathname === "/fields") {
        return new Response("ok", {
          headers: {
            "X-Content-Type-Options": "nosniff",
            "ETag": '"AbC-1"',
            "Retry-After": " 3 ",
          },
        });
      }
      return Response.json({
        method: req.method,
        path: url.pathname + url.search,
        key: req.headers.get("idempotency-key"),
        body: req.body ? await req.json() : null,
      }, { status: url.pathname === "/created" ? 201 : 200 });
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, () => hits);
  } finally {
    await server.shutdown();
  }
}

Deno.test("HttpConnection sends JSON and reads answers on one kept-alive socket", async () => {
  await withEcho(async (origin) => {
    const conn = new HttpConnection(origin);
    try {
      for (let i = 0; i < 50; i++) {
        const o = await conn.send(`${origin}/created?n=${i}`, {
          method: "POST",
          body: { n: i, text: "crème brûlée" },
          headers: { "idempotency-key": `k${i}` },
        });
        assert.equal(o.kind, "response");
        if (o.kind !== "response") return;
        assert.equal(o.status, 201);
        assert.equal(o.headers.get("Content-Type"), "application/json");
        assert.deepEqual(o.body, {
          method: "POST",
          path: `/created?n=${i}`,
          key: `k${i}`,
          body: { n: i, text: "crème brûlée" },
        });
      }
    } finally {
      conn.close();
    }
  });
});

Deno.test("HttpConnection reads chunked answers", async () => {
  await withEcho(async (origin) => {
    const conn = new HttpConnection(origin);
    try {
      const o = await conn.send("/chunked");
      assert.equal(o.kind, "response");
      if (o.kind === "response") assert.deepEqual(o.body, { a: [1, 2, 3] });
      const again = await conn.send("/x");
      assert.equal(again.kind, "response");
    } finally {
      conn.close();
    }
  });
});

Deno.test("HttpConnection: an injected abort and a timeout cut the socket, the next send reconnects", async () => {
  await withEcho(async (origin, hits) => {
    const conn = new HttpConnection(origin);
    try {
      const aborted = await conn.send("/slow", { abortAfterMs: 20 });
      assert.equal(aborted.kind, "aborted");
      const late = await conn.send("/slow", { timeoutMs: 50 });
      assert.equal(late.kind, "timeout");
      const ok = await conn.send("/after");
      assert.equal(ok.kind, "response");
      assert.equal(hits(), 3);
      // The server still finishes the cut requests; let it before shutdown.
      await new Promise((r) => setTimeout(r, 350));
    } finally {
      conn.close();
    }
  });
});

Deno.test("HttpConnection reports a refused connection without throwing", async () => {
  const conn = new HttpConnection(`http://127.0.0.1:${freePort()}`);
  const o = await conn.send("/");
  assert.equal(o.kind, "connection");
  assert.ok(o.kind === "connection" && o.error.length > 0);
});

Deno.test("HttpConnection: header lookups ignore the name's case, keep the value's, and match whole names only", async () => {
  await withEcho(async (origin) => {
    const conn = new HttpConnection(origin);
    try {
      const o = await conn.send("/fields");
      assert.equal(o.kind, "response");
      if (o.kind !== "response") return;
      assert.equal(o.headers.get("etag"), '"AbC-1"');
      assert.equal(o.headers.get("RETRY-AFTER"), "3");
      // "content-type" is a suffix of a field that is present, not a field.
      assert.equal(o.headers.get("content-type"), "text/plain;charset=UTF-8");
      assert.equal(o.headers.get("type-options"), null);
      assert.equal(o.headers.get("idempotent-replayed"), null);
      assert.equal(o.body, "ok");
    } finally {
      conn.close();
    }
  });
});
