import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { BufferedSink, Logger } from "../routes/_log.ts";
import { addItem, jsonReq, openTempLibsql, testConfig } from "./_helpers.ts";

async function loggedApp(logLevel: "debug" | "info" | "warn" | "error") {
  const db = await openTempLibsql();
  const lines: string[] = [];
  const app = createApp({
    config: testConfig({ logLevel }),
    store: db.store,
    log: { write: (l) => lines.push(l) },
  });
  return { ...db, app, lines };
}

Deno.test("one JSON line per request: method, route pattern, status, ms, request id", async () => {
  const { app, store, lines, cleanup } = await loggedApp("info");
  try {
    const item = await addItem(store);
    const secretNote = "body-text-never-logged";
    const placed = await app.request(
      "/orders?debug=query-never-logged",
      jsonReq("POST", {
        items: [{ menu_item_id: item, quantity: 1, notes: secretNote }],
      }, { "x-request-id": "req-42" }),
    );
    assert.equal(placed.status, 200);
    const { id } = await placed.json();
    (await app.request(`/orders/${id}`)).body?.cancel();
    (await app.request("/orders/999999")).body?.cancel();
    (await app.request("/nowhere")).body?.cancel();

    assert.equal(lines.length, 4);
    const [post, get, missing, nowhere] = lines.map((l) => JSON.parse(l));
    assert.equal(post.level, "info");
    assert.equal(post.msg, "request");
    assert.equal(post.method, "POST");
    assert.equal(post.route, "/orders");
    assert.equal(post.status, 200);
    assert.equal(typeof post.ms, "number");
    assert.ok(post.ms >= 0);
    assert.equal(post.request_id, "req-42");
    assert.ok(!Number.isNaN(Date.parse(post.ts)));
    assert.equal(get.route, "/orders/:id");
    assert.equal(get.status, 200);
    assert.match(get.request_id, /^[0-9a-f-]{36}$/);
    assert.equal(missing.status, 404);
    assert.equal(missing.code, "order_not_found");
    assert.equal(nowhere.route, null);
    assert.equal(nowhere.status, 404);
    for (const l of lines) {
      assert.equal(l.includes("\n"), false);
      assert.equal(l.includes(secretNote), false);
      assert.equal(l.includes("query-never-logged"), false);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("an unhandled error logs its stack with the request id the client got", async () => {
  const { app, lines, cleanup } = await loggedApp("info");
  try {
    // A route that fails with a plain Error, as a driver or a bug would.
    app.get("/boom", () => {
      throw new TypeError("kaput at the driver level");
    });
    const res = await app.request("/boom");
    assert.equal(res.status, 500);
    const body = await res.json();
    const rid = res.headers.get("x-request-id");
    assert.equal(body.error.code, "internal_error");
    assert.equal(body.error.details.request_id, rid);
    const parsed = lines.map((l) => JSON.parse(l));
    const err = parsed.find((l) => l.msg === "unhandled error");
    assert.ok(err, "an error line");
    assert.equal(err.level, "error");
    assert.equal(err.request_id, rid);
    assert.equal(err.route, "/boom");
    assert.match(err.error, /TypeError: kaput/);
    assert.match(err.error, /\n\s+at /, "the stack");
    const req = parsed.find((l) => l.msg === "request");
    assert.equal(req.level, "error");
    assert.equal(req.status, 500);
    assert.doesNotMatch(JSON.stringify(body), /kaput|TypeError/);
  } finally {
    await cleanup();
  }
});

Deno.test("LOG_LEVEL=warn drops request lines", async () => {
  const { app, lines, cleanup } = await loggedApp("warn");
  try {
    (await app.request("/menu")).body?.cancel();
    (await app.request("/orders/12345")).body?.cancel();
    assert.equal(lines.length, 0);
    const logger = new Logger("warn", { write: (l) => lines.push(l) });
    logger.log("debug", "x");
    logger.log("info", "x");
    logger.log("warn", "kept");
    logger.log("error", "kept");
    assert.equal(lines.length, 2);
  } finally {
    await cleanup();
  }
});

Deno.test("BufferedSink writes in batches: when full, on flush(), and on its timer", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/log.jsonl`;
  const file = await Deno.open(path, { write: true, create: true });
  try {
    // A timer far away while the batches are checked: under a loaded test
    // run, a 20 ms one fired during a file read and flushed "a", "b" early.
    const sink = new BufferedSink(file, { maxLines: 3, flushMs: 60_000 });
    sink.write("a");
    sink.write("b");
    assert.equal(await Deno.readTextFile(path), "");
    sink.write("c");
    assert.equal(await Deno.readTextFile(path), "a\nb\nc\n");
    sink.write("d");
    sink.flush();
    assert.equal(await Deno.readTextFile(path), "a\nb\nc\nd\n");
    const timed = new BufferedSink(file, { maxLines: 3, flushMs: 20 });
    timed.write("e");
    const deadline = Date.now() + 2000;
    while (
      (await Deno.readTextFile(path)).length < 10 && Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await Deno.readTextFile(path), "a\nb\nc\nd\ne\n");
  } finally {
    file.close();
    await Deno.remove(dir, { recursive: true });
  }
});
