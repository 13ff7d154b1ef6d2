/**
 * Bad-input suite: fast-check sends generated malformed and hostile requests
 * to every route. No answer may be a 5xx; a rejected request must leave the
 * database exactly as it was (row counts and a digest of every row); text
 * that is accepted comes back verbatim, injection payloads included.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { createApp } from "../app.ts";
import { backends, testConfig, withServer } from "./_helpers.ts";
import { checksum } from "./_checksum.ts";
import { nameKey } from "../domain/name_key.ts";

const ADMIN = "fuzz-admin-token-7c1d";
const STAFF = "fuzz-staff-token-2b9e";
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 1200);

/** Hostile text that is also valid input where free text is allowed. */
export const INJECTION = [
  "<script>alert(1)</script>' OR 1=1 --",
  "'; DROP TABLE orders; --",
  "Robert'); DROP TABLE menu_items;--",
  '" OR ""="',
  "' UNION SELECT key, body FROM idempotency_keys --",
  "<img src=x onerror=alert(document.cookie)>",
  "</textarea><svg/onload=alert(1)>",
  "{{7*7}} ${7*7} #{7*7}",
  "../../../etc/passwd",
  "\u202egnp.exe",
  "Ωmega 𝕌𝕟𝕚 😀 ñ ü",
  "%27%20OR%201%3D1",
  "\\x27\\u0027",
];

/** Text no database can store as sent: refused with a 422 everywhere. */
export const UNSTORABLE = ["nul\u0000byte", "lone \ud800 surrogate", "\udfff"];

/** Text a well-formed request may carry: injection payloads, short strings. */
const validText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...INJECTION) },
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }),
  },
);

/** Any text, including what no route may accept. */
const text = fc.oneof(
  { weight: 9, arbitrary: validText },
  { weight: 1, arbitrary: fc.constantFrom(...UNSTORABLE) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 90, max: 70_000 }).map((n) => "é".repeat(n)),
  },
);

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -1,
    -0,
    0.5,
    1.005,
    99.999,
    2 ** 31,
    2 ** 31 - 1,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 63),
    1e308,
    5e-324,
  ),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  text,
  hostileNumber,
  fc.constantFrom(null, true, false, "", " ", "1", "true", "null"),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant([]),
  fc.constant({}),
);

type Json = Record<string, unknown>;

/** Drops a field, adds one, or swaps one for a hostile value, at any depth. */
function mutate(body: unknown): fc.Arbitrary<unknown> {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (v && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        const p = [...path, Array.isArray(v) ? Number(k) : k];
        paths.push(p);
        walk(child, p);
      }
    }
  };
  walk(body, []);
  if (paths.length === 0) return hostileValue;
  return fc.tuple(
    fc.constantFrom(...paths),
    fc.constantFrom("drop", "replace", "replace", "extra"),
    hostileValue,
    fc.constantFrom("extra", "__proto__", "constructor", "id", "price_cents"),
  ).map(([path, op, value, extraKey]) => {
    const copy = structuredClone(body) as Json;
    let parent: Json = copy;
    for (const k of path.slice(0, -1)) parent = parent[k as string] as Json;
    const last = path.at(-1)!;
    if (op === "drop") {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last as string];
    } else if (op === "replace") parent[last as string] = value;
    else {Object.defineProperty(parent, extraKey, {
        value,
        enumerable: true,
        configurable: true,
        writable: true,
      });}
    return copy;
  });
}

/** A request body: JSON of a value, or raw bytes that may not be JSON or UTF-8. */
type Body = { json: unknown } | { raw: Uint8Array<ArrayBuffer> };

const enc = new TextEncoder();
const cat = (...parts: (string | number[])[]) => {
  const chunks = parts.map((p) =>
    typeof p === "string" ? enc.encode(p) : new Uint8Array(p)
  );
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

const rawBody: fc.Arbitrary<Uint8Array<ArrayBuffer>> = fc.oneof(
  fc.constantFrom(
    cat(""),
    cat("null"),
    cat("[]"),
    cat('"just a string"'),
    cat("{"),
    cat("{'name': 'single quotes'}"),
    cat('{"name":"a","name":"b","price":1}'),
    cat('{"price":1e400,"name":"Infinity pie","stock":1e400}'),
    cat('{"items":[{"menu_item_id":1e400,"quantity":-1e400}]}'),
    cat("\ufeff{}"),
    cat('{"__proto__":{"admin":true},"name":"Proto","price":1}'),
    cat('{"constructor":{"prototype":{"polluted":1}}}'),
    cat('{"name":"', [0xff, 0xfe], '","price":1}'),
    cat('{"name":"', [0xc3, 0x28], '","price":1}'),
    cat('{"name":"', [0xed, 0xa0, 0x80], '","price":1}'),
    cat('{"name":"', [0xc0, 0xaf], '","price":1}'),
    cat('{"name":"', [0xf8, 0x88, 0x80, 0x80, 0x80], '"}'),
    cat([0xef, 0xbb, 0xbf], '{"name":"bom","price":1}'),
  ),
  fc.uint8Array({ maxLength: 300 }).map((b) => cat(b as unknown as number[])),
  fc.integer({ min: 50, max: 40_000 }).map((d) =>
    cat('{"items":', "[".repeat(d), "]".repeat(d), "}")
  ),
  fc.integer({ min: 50, max: 15_000 }).map((d) =>
    cat('{"a":'.repeat(d), "1", "}".repeat(d))
  ),
);

/** What a route accepts when it is called well. */
interface RouteSpec {
  method: string;
  /** `{id}` is replaced by a generated id segment. */
  path: string;
  body?: fc.Arbitrary<Json>;
  query?: readonly string[];
  /** The route exists only where the vending store works. */
  vending?: boolean;
}

const menuId = fc.constantFrom(1, 2, 3);
/** Switching dishes off too often would leave nothing to order. */
const mostlyOn = fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, {
  weight: 1,
  arbitrary: fc.constant(false),
});
const SPECS: RouteSpec[] = [
  { method: "GET", path: "/health" },
  { method: "GET", path: "/" },
  { method: "GET", path: "/docs" },
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/static/{file}" },
  { method: "GET", path: "/kitchen/display" },
  { method: "GET", path: "/kitchen/assets/{file}" },
  { method: "GET", path: "/menu", query: ["category", "available"] },
  { method: "GET", path: "/menu/{id}" },
  {
    method: "POST",
    path: "/menu",
    body: fc.record({
      name: validText,
      price: fc.integer({ min: 0, max: 99_999 }).map((c) => c / 100),
      description: validText,
      category: validText,
      available: mostlyOn,
      stock: fc.option(fc.integer({ min: 0, max: 1000 })),
    }, { requiredKeys: ["name", "price"] }),
  },
  {
    method: "PUT",
    path: "/menu/{id}",
    body: fc.record({
      name: validText,
      description: validText,
      price: fc.integer({ min: 0, max: 5000 }).map((c) => c / 100),
      available: mostlyOn,
    }, { requiredKeys: [] }),
  },
  {
    method: "PUT",
    path: "/menu/{id}/availability",
    body: fc.record({ available: mostlyOn }),
  },
  {
    method: "POST",
    path: "/orders",
    body: fc.record({
      items: fc.array(
        fc.record({
          menu_item_id: menuId,
          quantity: fc.integer({ min: 1, max: 3 }),
          notes: validText,
        }, { requiredKeys: ["menu_item_id", "quantity"] }),
        { minLength: 1, maxLength: 3 },
      ),
      customer_name: validText,
      table: fc.oneof(validText, fc.integer({ min: 0, max: 99 })),
      notes: validText,
    }, { requiredKeys: ["items"] }),
  },
  { method: "GET", path: "/orders", query: ["status", "limit", "before"] },
  { method: "GET", path: "/orders/{id}" },
  {
    method: "PATCH",
    path: "/orders/{id}",
    body: fc.record({
      status: fc.constantFrom(
        "pending",
        "in_progress",
        "ready",
        "completed",
        "cancelled",
      ),
    }),
  },
  { method: "GET", path: "/kitchen/orders" },
  { method: "GET", path: "/kitchen/events", query: ["after"] },
  { method: "GET", path: "/inventory" },
  {
    method: "POST",
    path: "/inventory",
    body: fc.record({
      name: validText,
      quantity: fc.integer({ min: 0, max: 500 }),
      unit: validText,
      low_threshold: fc.option(fc.integer({ min: 0, max: 50 })),
    }, { requiredKeys: ["name", "quantity"] }),
  },
  {
    method: "PATCH",
    path: "/inventory/{id}",
    body: fc.oneof(
      fc.record({ delta: fc.integer({ min: -20, max: 20 }) }),
      fc.record({ quantity: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ low_threshold: fc.integer({ min: 0, max: 10 }) }),
    ),
  },
  {
    method: "POST",
    path: "/api/order",
    body: fc.record({
      table: fc.oneof(validText, fc.integer({ min: 0, max: 99 })),
      items: fc.array(
        fc.record({
          name: fc.oneof(validText, fc.constantFrom("Soup", "soup", "Pie")),
          quantity: fc.integer({ min: 1, max: 5 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  { method: "GET", path: "/api/orders", query: ["limit", "before"] },
  { method: "GET", path: "/ws/orders" },
  { method: "GET", path: "/api/vending-machines", vending: true },
  {
    method: "POST",
    path: "/api/vending-machines",
    vending: true,
    body: fc.record({ name: validText }),
  },
  { method: "GET", path: "/api/vending-machines/{id}", vending: true },
  {
    method: "PUT",
    path: "/api/vending-machines/{id}",
    vending: true,
    body: fc.record({ name: validText }),
  },
  { method: "DELETE", path: "/api/vending-machines/{id}", vending: true },
  { method: "POST", path: "/api/vending-machines/{id}/reset", vending: true },
  { method: "GET", path: "/api/products", vending: true },
  {
    method: "POST",
    path: "/api/products",
    vending: true,
    body: fc.record({
      name: validText,
      stock: fc.integer({ min: 0, max: 100 }),
    }),
  },
  { method: "GET", path: "/api/products/{id}", vending: true },
  {
    method: "PATCH",
    path: "/api/products/{id}/stock",
    vending: true,
    body: fc.record({ stock: fc.integer({ min: 0, max: 100 }) }),
  },
  { method: "DELETE", path: "/api/products/{id}", vending: true },
  {
    method: "POST",
    path: "/api/orchestrator/start-work",
    vending: true,
    query: ["wait_ms"],
  },
  {
    method: "POST",
    path: "/api/orchestrator/choose-product",
    vending: true,
    body: fc.record({
      machine_id: fc.constantFrom(1, 2, 3),
      product_id: fc.constantFrom(1, 2, 3),
      count: fc.integer({ min: 1, max: 3 }),
      coins: fc.integer({ min: 1, max: 3 }),
    }),
  },
];

const idSegment = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("1", "2", "3") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "0",
      "-1",
      "abc",
      "1.5",
      "1e3",
      "0x10",
      "01",
      " 1",
      "１",
      "99999999999999999999999",
      "2147483648",
      "9007199254740993",
      "%00",
      "%ZZ",
      "%2e%2e",
      "..%2f..%2fmain.ts",
      "1;DROP%20TABLE%20orders",
      "%27%20OR%201%3D1",
      "NaN",
      "Infinity",
      "null",
    ),
  },
  { weight: 1, arbitrary: fc.integer().map(String) },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 30 }).map((s) =>
      encodeURIComponent(s.toWellFormed())
    ),
  },
);

const fileSegment = fc.constantFrom(
  "docs.js",
  "docs.css",
  "display.js",
  "nope.js",
  "..%2fmain.ts",
  "%2e%2e%2fconfig.ts",
  "main.ts",
  ".env",
  ".",
  "a".repeat(300) + ".js",
);

const queryValue = fc.oneof(
  fc.constantFrom(
    "",
    "-1",
    "0",
    "1",
    "50",
    "1001",
    "abc",
    "1e3",
    "9".repeat(30),
    "NaN",
    "Infinity",
    "null",
    "true",
    "pending,bogus",
    "pending,in_progress",
    "%ZZ",
    "%00",
  ),
  text.filter((s) => s.length < 200).map((s) =>
    encodeURIComponent(s.toWellFormed())
  ),
);

function queryOf(keys: readonly string[] | undefined) {
  const names = [...(keys ?? []), "x", "__proto__"];
  return fc.array(fc.tuple(fc.constantFrom(...names), queryValue), {
    maxLength: 3,
  }).map((pairs) =>
    pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}` : ""
  );
}

const headerText = fc.string({ unit: "binary-ascii", maxLength: 40 })
  .map((s) => s.replace(/[\0\r\n]/g, ""));

const hostileHeaders = fc.record({
  "content-type": fc.oneof(
    { weight: 6, arbitrary: fc.constant("application/json") },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/merge-patch+json",
        "application/json; charset=latin1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "*/*",
        "",
      ),
    },
    { weight: 1, arbitrary: headerText },
  ),
  "idempotency-key": fc.oneof(
    fc.constantFrom("k-1", "k-2", '"k-1"', "", '""', " ", "a b", "é"),
    fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 300 }).map((
      s,
    ) => s.replace(/[\0\r\n]/g, "")),
  ),
  "if-match": fc.constantFrom(
    '"1"',
    'W/"2"',
    "3",
    "*",
    "abc",
    '"99999999999"',
    "",
    '"1", "2"',
  ),
  "content-length": fc.constantFrom(
    "abc",
    "-1",
    "0",
    "5",
    "999999999999",
    "1e3",
  ),
  "authorization": fc.constantFrom(
    `Bearer ${STAFF}`,
    "Bearer wrong",
    "Bearer",
    "Basic YWRtaW46YWRtaW4=",
    `Bearer ${ADMIN} extra`,
    `bearer ${ADMIN}`,
  ),
  "x-request-id": headerText,
  "last-event-id": fc.constantFrom("-1", "abc", "99999999999999999999", "0"),
  "origin": fc.constantFrom("https://evil.example", "null"),
}, { requiredKeys: [] });

/** Well-formed headers, so that bodies reach the handlers. */
const cleanHeaders = fc.record({
  "content-type": fc.constant("application/json"),
  "idempotency-key": fc.uuid(),
}, { requiredKeys: ["content-type"] });

const headers: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 3, arbitrary: cleanHeaders },
  { weight: 2, arbitrary: hostileHeaders },
);

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Body;
  spec: RouteSpec;
}

function requestFor(spec: RouteSpec): fc.Arbitrary<FuzzRequest> {
  const path = fc.tuple(idSegment, fileSegment, queryOf(spec.query)).map((
    [id, file, q],
  ) => spec.path.replace("{id}", id).replace("{file}", file) + q);
  const valid = spec.body ?? fc.constant({});
  const body: fc.Arbitrary<Body> = fc.oneof(
    { weight: 6, arbitrary: valid.map((json) => ({ json })) },
    { weight: 4, arbitrary: valid.chain(mutate).map((json) => ({ json })) },
    { weight: 1, arbitrary: hostileValue.map((json) => ({ json })) },
    { weight: 2, arbitrary: rawBody.map((raw) => ({ raw })) },
  );
  const method = fc.oneof(
    { weight: 9, arbitrary: fc.constant(spec.method) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE"),
    },
  );
  return fc.record({
    method,
    path,
    headers,
    body,
    admin: fc.boolean(),
  }).map((r) => {
    const h: Record<string, string> = { ...r.headers };
    // Mostly the admin, so role checks do not hide the handlers behind 401s.
    if (r.admin || !h.authorization) h.authorization = `Bearer ${ADMIN}`;
    const hasBody = r.method !== "GET" && r.method !== "HEAD";
    return {
      method: r.method,
      path: r.path,
      headers: h,
      body: hasBody ? r.body : undefined,
      spec,
    };
  });
}

function bytesOf(
  body: Body | undefined,
): Uint8Array<ArrayBuffer> | undefined {
  if (body === undefined) return undefined;
  if ("raw" in body) return body.raw;
  return enc.encode(JSON.stringify(body.json) ?? "null");
}

function describe(r: FuzzRequest, status: number, answer: string): string {
  const b = bytesOf(r.body);
  const preview = b ? new TextDecoder().decode(b.slice(0, 300)) : "";
  return `${r.method} ${r.path.slice(0, 200)} -> ${status}\n` +
    `headers: ${JSON.stringify(r.headers)}\nbody: ${preview}\n` +
    `answer: ${answer.slice(0, 500)}`;
}

/** Strings the request sent at `field` of its JSON body, if it was JSON. */
function sent(r: FuzzRequest, field: string): string | undefined {
  if (!r.body || !("json" in r.body)) return undefined;
  const v = (r.body.json as Json | null)?.[field];
  return typeof v === "string" ? v : undefined;
}

/** Accepted text must come back as sent (free-text fields may be trimmed). */
function assertVerbatim(
  got: unknown,
  want: string | undefined,
  what: string,
) {
  if (want === undefined) return;
  assert.ok(
    got === want || got === want.trim(),
    `${what}: sent ${JSON.stringify(want)}, got ${JSON.stringify(got)}`,
  );
}

type App = ReturnType<typeof createApp>;

async function getJson(app: App, path: string) {
  const res = await app.request(path, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  assert.equal(res.status, 200, path);
  return await res.json();
}

/** After a 2xx that created or changed something, the stored text equals what was sent. */
async function checkStored(app: App, r: FuzzRequest, answer: Json) {
  const route = `${r.method} ${r.spec.path}`;
  if (route === "POST /menu" || route === "PUT /menu/{id}") {
    const stored = await getJson(app, `/menu/${answer.id}`);
    for (const f of ["name", "description", "category"]) {
      assertVerbatim(answer[f], sent(r, f), `${route} ${f}`);
      assertVerbatim(stored[f], sent(r, f), `${route} stored ${f}`);
    }
  } else if (route === "POST /inventory") {
    const stored = (await getJson(app, "/inventory")).find((i: Json) =>
      i.id === answer.id
    );
    for (const f of ["name", "unit"]) {
      assertVerbatim(stored[f], sent(r, f), `${route} stored ${f}`);
    }
  } else if (route === "POST /orders") {
    const stored = await getJson(app, `/orders/${answer.id}`);
    for (const f of ["customer_name", "notes"]) {
      assertVerbatim(stored[f], sent(r, f), `${route} stored ${f}`);
    }
  } else if (route === "POST /api/order") {
    const stored = (await getJson(app, "/api/orders")).find((o: Json) =>
      o.id === answer.id
    );
    const items = ((r.body as { json: Json }).json.items ?? []) as Json[];
    // A name equal to a menu item's by the name key takes the menu's spelling.
    items.forEach((it, i) => {
      const got = String((stored.items as Json[])[i]?.name);
      const want = String(it.name);
      assert.ok(
        got === want || got === want.trim() ||
          nameKey(got) === nameKey(want.trim()),
        `${route} stored item name: sent ${JSON.stringify(want)}, got ${
          JSON.stringify(got)
        }`,
      );
    });
  } else if (
    route === "POST /api/vending-machines" || route === "POST /api/products"
  ) {
    const stored = await getJson(app, `${r.spec.path}/${answer.id}`);
    assertVerbatim(stored.name, sent(r, "name"), `${route} stored name`);
  }
}

async function seed(app: App) {
  const auth = { authorization: `Bearer ${ADMIN}` };
  const post = async (path: string, body: unknown) => {
    const res = await app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify(body),
    });
    assert.ok(res.status < 300, `seed ${path}: ${res.status}`);
    return res.json();
  };
  await post("/menu", { name: "Soup", price: 4.5, stock: null });
  await post("/menu", { name: "Pie", price: 6, stock: 100_000 });
  await post("/menu", { name: "Rare truffle", price: 99.99, stock: 3 });
  await post("/inventory", { name: "Flour", quantity: 50, unit: "kg" });
  await post("/inventory", { name: "Eggs", quantity: 12 });
  for (let i = 0; i < 3; i++) {
    await post("/orders", { items: [{ menu_item_id: 1, quantity: 1 }] });
  }
  const probe = await app.request("/api/vending-machines", { headers: auth });
  const vending = probe.status === 200;
  await probe.body?.cancel();
  if (vending) {
    for (const name of ["A", "B", "C"]) {
      await post("/api/vending-machines", { name: `Machine ${name}` });
      await post("/api/products", { name: `Cola ${name}`, stock: 1000 });
    }
  }
  return { vending };
}

for (const backend of backends()) {
  Deno.test({
    name:
      `[${backend.name}] ${RUNS} generated hostile requests: no 5xx, rejected ones change nothing, accepted text is verbatim`,
    ignore: backend.skip !== undefined,
    async fn() {
      const db = await backend.open();
      const stop = new AbortController();
      const config = testConfig({ adminToken: ADMIN, staffToken: STAFF });
      const app = createApp({ config, store: db.store, shutdown: stop.signal });
      const seen = new Map<string, number>();
      try {
        const { vending } = await seed(app);
        const specs = SPECS.filter((s) => vending || !s.vending);
        const arb = fc.oneof(...specs.map(requestFor));
        await fc.assert(
          fc.asyncProperty(arb, async (r) => {
            const before = await checksum(db.store);
            const res = await app.request(r.path, {
              method: r.method,
              headers: r.headers,
              body: bytesOf(r.body),
            });
            const type = res.headers.get("content-type") ?? "";
            const answer = type.includes("event-stream")
              ? (await res.body?.cancel(), "")
              : await res.text();
            const after = await checksum(db.store);
            const bucket = `${r.spec.method} ${r.spec.path} ${res.status}`;
            seen.set(bucket, (seen.get(bucket) ?? 0) + 1);
            assert.ok(res.status < 500, describe(r, res.status, answer));
            if (res.status >= 400) {
              assert.deepEqual(
                after,
                before,
                `rejected but changed the database\n${
                  describe(r, res.status, answer)
                }`,
              );
            }
            // No traversal out of the page folders ever finds a file.
            if (
              r.spec.path.includes("{file}") &&
              /\.\.|%2e%2e|%2f/i.test(r.path.split("?")[0]!)
            ) {
              assert.notEqual(res.status, 200, r.path);
            }
            if (
              res.status >= 200 && res.status < 300 && type.includes("json") &&
              res.headers.get("idempotent-replayed") !== "true" &&
              r.method === r.spec.method
            ) {
              await checkStored(app, r, JSON.parse(answer));
            }
          }),
          { numRuns: RUNS },
        );
        const statuses = [...seen.entries()];
        if (Deno.env.get("FUZZ_STATS")) {
          console.log(statuses.sort().map(([k, n]) => `${k}: ${n}`).join("\n"));
        }
        const accepted = statuses.filter(([k]) => / 2\d\d$/.test(k));
        const rejected = statuses.filter(([k]) => / 4\d\d$/.test(k));
        const total = statuses.reduce((n, [, c]) => n + c, 0);
        assert.ok(total >= RUNS, `${total} requests`);
        assert.ok(accepted.length >= 10, "some requests were accepted");
        assert.ok(rejected.length >= 20, "many kinds were rejected");
      } finally {
        stop.abort();
        await db.cleanup();
      }
    },
  });
}

const PAYLOAD = "<script>alert(1)</script>' OR 1=1 --";

for (const backend of backends()) {
  Deno.test({
    name:
      `[${backend.name}] injection text is stored and returned verbatim; unstorable text and deep JSON are refused without a change`,
    ignore: backend.skip !== undefined,
    async fn() {
      const db = await backend.open();
      const config = testConfig({ adminToken: ADMIN });
      const app = createApp({ config, store: db.store });
      const auth = { authorization: `Bearer ${ADMIN}` };
      const send = (method: string, path: string, body: unknown, h = {}) =>
        app.request(path, {
          method,
          headers: { "content-type": "application/json", ...auth, ...h },
          body: typeof body === "string" ? body : JSON.stringify(body),
        });
      try {
        const menu = await send("POST", "/menu", {
          name: PAYLOAD,
          description: "'; DROP TABLE orders; --",
          price: 5,
        });
        assert.equal(menu.status, 201);
        const item = await menu.json();
        const stored = await getJson(app, `/menu/${item.id}`);
        assert.equal(stored.name, PAYLOAD);
        assert.equal(stored.description, "'; DROP TABLE orders; --");

        const order = await send("POST", "/orders", {
          items: [{ menu_item_id: item.id, quantity: 1, notes: PAYLOAD }],
          customer_name: PAYLOAD,
          notes: "<img src=x onerror=alert(1)>",
        });
        assert.equal(order.status, 200);
        const placed = await getJson(app, `/orders/${(await order.json()).id}`);
        assert.equal(placed.customer_name, PAYLOAD);
        assert.equal(placed.notes, "<img src=x onerror=alert(1)>");
        assert.equal(placed.items[0].name, PAYLOAD);
        assert.equal(placed.items[0].notes, PAYLOAD);
        const kitchen = await getJson(app, "/kitchen/orders");
        assert.equal(kitchen[0].customer_name, PAYLOAD);

        const table = await send("POST", "/api/order", {
          table: PAYLOAD,
          items: [{ name: "Robert'); DROP TABLE menu_items;--", quantity: 1 }],
        });
        assert.equal(table.status, 201);
        const listed = (await getJson(app, "/api/orders"))[0];
        assert.equal(listed.table, PAYLOAD);
        assert.equal(
          listed.items[0].name,
          "Robert'); DROP TABLE menu_items;--",
        );

        const before = await checksum(db.store);
        const refused: [string, string, unknown, number][] = [
          ["POST", "/menu", { name: "nul\u0000byte", price: 1 }, 422],
          ["POST", "/menu", { name: "lone \ud800", price: 1 }, 422],
          ["POST", "/orders", {
            items: [{ menu_item_id: item.id, quantity: 1 }],
            customer_name: "a\u0000b",
          }, 422],
          ["POST", "/api/order", {
            table: 1,
            items: [{ name: "x\u0000", quantity: 1 }],
          }, 422],
          ["POST", "/inventory", { name: "\udfff", quantity: 1 }, 422],
          [
            "POST",
            "/orders",
            '{"items":' + "[".repeat(30_000) + "]".repeat(30_000) + "}",
            400,
          ],
          [
            "POST",
            "/api/orchestrator/choose-product",
            "[".repeat(30_000) + "]".repeat(30_000),
            400,
          ],
        ];
        for (const [method, path, body, status] of refused) {
          const res = await send(method, path, body, {
            "idempotency-key": crypto.randomUUID(),
          });
          assert.equal(res.status, status, `${method} ${path}`);
          await res.body?.cancel();
        }
        assert.deepEqual(await checksum(db.store), before);
      } finally {
        await db.cleanup();
      }
    },
  });
}

/** Sends raw bytes on a fresh connection, half-closes, and reads the answer's status line. */
async function rawHttp(port: number, bytes: Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const guard = setTimeout(() => conn.close(), 5000);
  let out = "";
  try {
    await conn.write(bytes);
    await conn.closeWrite();
    const buf = new Uint8Array(8192);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch {
    // Closed by the guard or reset by the server: whatever arrived counts.
  } finally {
    clearTimeout(guard);
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  return out.split("\r\n")[0] ?? "";
}

Deno.test("malformed HTTP on a real socket: no 5xx, nothing written", async () => {
  const [libsql] = backends();
  const db = await libsql!.open();
  const app = createApp({ config: testConfig(), store: db.store });
  try {
    const item = await db.store.createMenuItem({
      name: "Soup",
      description: "",
      priceCents: 450,
      category: "Mains",
      available: true,
      stock: null,
    });
    const order = `{"items":[{"menu_item_id":${item.id},"quantity":1}]}`;
    const head = (extra: string) =>
      `POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}${
        extra ? "\r\n" : ""
      }`;
    const cases: [string, Uint8Array][] = [
      [
        "body shorter than Content-Length",
        cat(head("Content-Length: 100\r\n"), order.slice(0, 20)),
      ],
      [
        "non-numeric Content-Length",
        cat(head("Content-Length: abc\r\n"), order),
      ],
      [
        "two Content-Lengths",
        cat(head("Content-Length: 2\r\nContent-Length: 3\r\n"), "{}"),
      ],
      [
        "Content-Length and chunked",
        cat(
          head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
          "zz\r\n",
        ),
      ],
      [
        "broken chunked body",
        cat(head("Transfer-Encoding: chunked\r\n"), "zz\r\n{}\r\n"),
      ],
      [
        "latin-1 Idempotency-Key",
        cat(
          head(""),
          "Idempotency-Key: caf",
          [0xe9],
          "\r\nContent-Length: 2\r\n\r\n{}",
        ),
      ],
      [
        "NUL in Authorization",
        cat(
          head(""),
          "Authorization: Bearer ",
          [0xff, 0x00],
          "\r\nContent-Length: 2\r\n\r\n{}",
        ),
      ],
      [
        "invalid UTF-8 body",
        cat(head("Content-Length: 14\r\n"), '{"items":"', [0xff, 0xfe], '"}'),
      ],
      [
        "invalid UTF-8 in the path",
        cat("GET /menu/", [0xff], " HTTP/1.1\r\nHost: x\r\n\r\n"),
      ],
      [
        "percent-encoded garbage path",
        cat("GET /orders/%ff%fe%00 HTTP/1.1\r\nHost: x\r\n\r\n"),
      ],
      [
        "header line without colon",
        cat("GET /menu HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n"),
      ],
      ["HTTP/0.9 style", cat("GET /menu\r\n\r\n")],
    ];
    await withServer(app.fetch, async (base) => {
      const port = Number(new URL(base).port);
      const before = await checksum(db.store);
      for (const [what, bytes] of cases) {
        const status = await rawHttp(port, bytes);
        assert.doesNotMatch(status, /^HTTP\/1\.1 5/, `${what}: ${status}`);
      }
      assert.deepEqual(await checksum(db.store), before);
      // The server still serves after all that.
      const ok = await fetch(`${base}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: order,
      });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    });
  } finally {
    await db.cleanup();
  }
});
