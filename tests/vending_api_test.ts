/** The vending API over HTTP: routes, codes, Laravel shapes and messages, on every backend. */
import assert from "node:assert/strict";
import { jsonReq, type TestCtx, testEachBackend } from "./_helpers.ts";

async function call(
  t: TestCtx,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await t.app.request(path, jsonReq(method, body, headers));
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    json: text ? JSON.parse(text) : null,
  };
}

const MACHINE_KEYS = [
  "created_at",
  "id",
  "name",
  "status",
  "updated_at",
  "usage_count",
];
const PRODUCT_KEYS = ["created_at", "id", "name", "stock", "updated_at"];
const LARAVEL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

testEachBackend(
  "vending machines: create, list, show, rename, delete",
  async (t) => {
    const a = await call(t, "POST", "/api/vending-machines", {
      name: "Machine A",
    });
    assert.equal(a.status, 201);
    assert.deepEqual(Object.keys(a.json).sort(), MACHINE_KEYS);
    assert.equal(a.json.status, "idle");
    assert.equal(a.json.usage_count, 0);
    assert.match(a.json.created_at, LARAVEL_TIME);
    await call(t, "POST", "/api/vending-machines", { name: "Machine B" });

    const list = await call(t, "GET", "/api/vending-machines");
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.map((m: { name: string }) => m.name), [
      "Machine A",
      "Machine B",
    ]);

    const shown = await call(t, "GET", `/api/vending-machines/${a.json.id}`);
    assert.deepEqual(shown.json, a.json);

    const renamed = await call(t, "PUT", `/api/vending-machines/${a.json.id}`, {
      name: "A2",
    });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.json.name, "A2");
    const patched = await call(
      t,
      "PATCH",
      `/api/vending-machines/${a.json.id}`,
      { name: "A3" },
    );
    assert.equal(patched.json.name, "A3");

    const del = await call(t, "DELETE", `/api/vending-machines/${a.json.id}`);
    assert.equal(del.status, 204);
    assert.equal(del.json, null);
    const gone = await call(t, "GET", `/api/vending-machines/${a.json.id}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.json, {
      message:
        `No query results for model [App\\Models\\VendingMachine] ${a.json.id}`,
    });
    for (
      const path of ["/api/vending-machines/999", "/api/vending-machines/abc"]
    ) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const r = await call(
          t,
          method,
          path,
          method === "PUT" ? { name: "x" } : undefined,
        );
        assert.equal(r.status, 404, `${method} ${path}`);
        assert.match(
          r.json.message,
          /^No query results for model \[App\\Models\\VendingMachine\]/,
        );
      }
      assert.equal((await call(t, "POST", `${path}/reset`)).status, 404);
    }
  },
);

testEachBackend("vending machines: every validation message", async (t) => {
  const cases: [unknown, string][] = [
    [{}, "The name field is required."],
    [{ name: null }, "The name field is required."],
    [{ name: "  " }, "The name field is required."],
    [{ name: 42 }, "The name field must be a string."],
    [
      { name: "x".repeat(256) },
      "The name field must not be greater than 255 characters.",
    ],
  ];
  for (const [body, message] of cases) {
    const r = await call(t, "POST", "/api/vending-machines", body);
    assert.equal(r.status, 422, JSON.stringify(body));
    assert.deepEqual(r.json, { message, errors: { name: [message] } });
  }
  const noBody = await t.app.request("/api/vending-machines", {
    method: "POST",
  });
  assert.equal(noBody.status, 422);
  assert.equal((await noBody.json()).message, "The name field is required.");

  const m = await call(t, "POST", "/api/vending-machines", {
    name: "x".repeat(255),
  });
  assert.equal(m.status, 201, "255 characters are allowed");
  const put = await call(t, "PUT", `/api/vending-machines/${m.json.id}`, {});
  assert.equal(put.status, 422);
  assert.deepEqual(put.json.errors, { name: ["The name field is required."] });

  const malformed = await t.app.request("/api/vending-machines", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{",
  });
  assert.equal(malformed.status, 400);
  assert.equal(typeof (await malformed.json()).error, "string");
  const wrongType = await t.app.request("/api/vending-machines", {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "name=x",
  });
  assert.equal(wrongType.status, 415);
  assert.equal(typeof (await wrongType.json()).error, "string");
});

testEachBackend(
  "products: create, duplicate name 400, stock, delete, messages",
  async (t) => {
    const cola = await call(t, "POST", "/api/products", {
      name: "Cola",
      stock: 20,
    });
    assert.equal(cola.status, 201);
    assert.deepEqual(Object.keys(cola.json).sort(), PRODUCT_KEYS);
    assert.equal(cola.json.stock, 20);

    for (const name of ["Cola", "COLA", " Cola "]) {
      const dup = await call(t, "POST", "/api/products", { name, stock: 1 });
      assert.equal(dup.status, 400, name);
      assert.deepEqual(dup.json, { error: "The name has already been taken." });
    }

    const set = await call(t, "PATCH", `/api/products/${cola.json.id}/stock`, {
      stock: 50,
    });
    assert.equal(set.status, 200);
    assert.equal(set.json.stock, 50);
    const list = await call(t, "GET", "/api/products");
    assert.deepEqual(list.json, [set.json]);

    const bad = await call(t, "POST", "/api/products", {
      name: 5,
      stock: "many",
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.json, {
      message: "The name field must be a string. (and 1 more error)",
      errors: {
        name: ["The name field must be a string."],
        stock: ["The stock field must be an integer."],
      },
    });
    const missing = await call(t, "POST", "/api/products", {});
    assert.deepEqual(missing.json, {
      message: "The name field is required. (and 1 more error)",
      errors: {
        name: ["The name field is required."],
        stock: ["The stock field is required."],
      },
    });
    for (
      const [stock, message] of [
        [-1, "The stock field must be at least 0."],
        [1.5, "The stock field must be an integer."],
        [null, "The stock field is required."],
        [2 ** 31, "The stock field must not be greater than 2147483647."],
      ] as const
    ) {
      const r = await call(t, "PATCH", `/api/products/${cola.json.id}/stock`, {
        stock,
      });
      assert.equal(r.status, 422, String(stock));
      assert.deepEqual(r.json, { message, errors: { stock: [message] } });
    }
    const unknown = await call(t, "PATCH", "/api/products/999/stock", {
      stock: 1,
    });
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json, {
      message: "No query results for model [App\\Models\\Product] 999",
    });

    assert.equal(
      (await call(t, "DELETE", `/api/products/${cola.json.id}`)).status,
      204,
    );
    assert.equal(
      (await call(t, "DELETE", `/api/products/${cola.json.id}`)).status,
      404,
    );
    assert.deepEqual((await call(t, "GET", "/api/products")).json, []);
  },
);

testEachBackend(
  "start-work picks the least-used idle machine, ties by id; 409 when none",
  async (t) => {
    const ids: number[] = [];
    for (const name of ["A", "B", "C"]) {
      ids.push(
        (await call(t, "POST", "/api/vending-machines", { name })).json.id,
      );
    }
    const first = await call(t, "POST", "/api/orchestrator/start-work");
    assert.equal(first.status, 200);
    assert.equal(
      first.json.message,
      "Machine selected and moved to choose_product state.",
    );
    assert.equal(first.json.machine.id, ids[0]);
    assert.equal(first.json.machine.status, "choose_product");
    assert.equal(
      (await call(t, "POST", "/api/orchestrator/start-work")).json.machine.id,
      ids[1],
    );
    assert.equal(
      (await call(t, "POST", "/api/orchestrator/start-work")).json.machine.id,
      ids[2],
    );
    const none = await call(t, "POST", "/api/orchestrator/start-work");
    assert.equal(none.status, 409);
    assert.deepEqual(none.json, {
      error: "No idle vending machine available.",
    });

    // A used machine comes after unused ones, whatever its id.
    await call(t, "POST", "/api/products", { name: "Cola", stock: 5 });
    const product = (await call(t, "GET", "/api/products")).json[0].id;
    const sold = await call(t, "POST", "/api/orchestrator/choose-product", {
      machine_id: ids[0],
      product_id: product,
      count: 1,
      coins: 1,
    });
    assert.equal(sold.status, 200);
    const reset = await call(
      t,
      "POST",
      `/api/vending-machines/${ids[0]}/reset`,
    );
    assert.equal(reset.json.machine.usage_count, 1);
    await call(t, "POST", `/api/vending-machines/${ids[2]}/reset`);
    assert.equal(
      (await call(t, "POST", "/api/orchestrator/start-work")).json.machine.id,
      ids[2],
    );
    assert.equal(
      (await call(t, "POST", "/api/orchestrator/start-work")).json.machine.id,
      ids[0],
    );

    const badWait = await call(
      t,
      "POST",
      "/api/orchestrator/start-work?wait_ms=30001",
    );
    assert.equal(badWait.status, 422);
    assert.deepEqual(badWait.json.errors, {
      wait_ms: ["The wait ms field must not be greater than 30000."],
    });
  },
);

testEachBackend(
  "reset: 200 with the machine, 409 when already idle",
  async (t) => {
    const m =
      (await call(t, "POST", "/api/vending-machines", { name: "A" })).json;
    const idle = await call(t, "POST", `/api/vending-machines/${m.id}/reset`);
    assert.equal(idle.status, 409);
    assert.deepEqual(idle.json, { error: "Machine is already idle." });
    await call(t, "POST", "/api/orchestrator/start-work");
    const r = await call(t, "POST", `/api/vending-machines/${m.id}/reset`);
    assert.equal(r.status, 200);
    assert.equal(r.json.message, "Machine has been reset to idle state.");
    assert.equal(r.json.machine.status, "idle");
    assert.equal(
      r.json.machine.usage_count,
      0,
      "an unanswered claim is not a use",
    );
  },
);
