/**
 * Numeric-bounds fuzz (issue 24): every numeric field of every write route,
 * on both backends, gets values at and just past its documented limits, and
 * huge, negative, fractional, 2^53, 1e308, 1e400 and digit-string values,
 * first as a sweep, then as fast-check draws. No answer may be a 5xx, no
 * stored value may leave its documented range, and a refusal names the field
 * or the limit.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { openVending } from "../db/vending_open.ts";
import {
  MAX_LINE_QUANTITY,
  MAX_PRICE,
  MAX_QUANTITY,
} from "../domain/schemas.ts";
import { MAX_INT, MAX_WAIT_MS } from "../domain/vending_rules.ts";
import {
  type Field,
  fields,
  type Fixture,
  type Kind,
  type Sent,
} from "./_bounds_fields.ts";
import { jsonReq, type TestCtx, testEachBackend as test } from "./_helpers.ts";

const RUNS = Number(Deno.env.get("FUZZ_BOUNDS_RUNS") ?? 150);
/** Values at and just past `[min, max]`, and the hostile classics. */
function edges(f: Field): Sent[] {
  const step = f.int ? 1 : 0.01;
  const numbers = [
    f.min,
    f.max,
    f.min - step,
    f.max + step,
    f.max + 1,
    f.max * 2,
    -f.max,
    0,
    -1,
    0.5,
    f.max - 0.5,
    1.005,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 63),
    1e308,
    -1e308,
    5e-324,
  ];
  return [
    ...numbers.map((value) => ({ value })),
    { value: String(f.max) },
    { value: String(f.max + 1) },
    { value: "9".repeat(400) },
    { value: "1e3" },
    { value: null },
    { literal: "1e400" },
    { literal: "-1e400" },
    { literal: `${f.max}.0` },
    { literal: "-0" },
  ];
}

/** The number the server reads from `sent`, or the string/null as is. */
function read(sent: Sent): unknown {
  // JSON has no Infinity or NaN: JSON.stringify sends them as null.
  return JSON.parse(
    "literal" in sent ? sent.literal : JSON.stringify(sent.value),
  );
}

/** Whether the documented range admits `v` (as the surface reads it). */
function inRange(f: Field, v: unknown): boolean {
  if (v === null && f.nullable) return true;
  if (typeof v === "string" && f.textMax !== undefined) {
    return v.trim().length >= 1 && v.trim().length <= f.textMax;
  }
  let n = v;
  // Laravel's integer rule: an optional sign, no leading zeros.
  if (
    f.digitStrings && typeof v === "string" && /^[+-]?(0|[1-9]\d*)$/.test(v)
  ) {
    n = Number(v);
  }
  if (typeof n !== "number" || !Number.isFinite(n)) return false;
  // Prices: two decimals, up to the float noise `Price` tolerates (0.29 * 100).
  const cents = Math.abs(n * 100 - Math.round(n * 100)) < 1e-6;
  if (f.int ? !Number.isSafeInteger(n) : !cents) return false;
  return n >= f.min && n <= f.max;
}

/** The body as text, `sent` in the field's place (raw literals included). */
function bodyText(f: Field, sent: Sent, n: number): [string, string, string] {
  const marker = "__fuzz_bounds_value__";
  const [method, path, body] = f.request(
    "literal" in sent ? marker : sent.value,
    n,
  );
  let text = JSON.stringify(body);
  if ("literal" in sent) text = text.replace(`"${marker}"`, sent.literal);
  return [method, path, text];
}

const within = (what: string, v: number | null, min: number, max: number) =>
  assert.ok(
    v === null || (Number.isSafeInteger(v) && v >= min && v <= max),
    `${what} = ${v} is outside ${min}..${max}`,
  );

/** Every stored number of `kind` is inside its documented range. */
async function assertStoredInRange(t: TestCtx, kind: Kind): Promise<void> {
  if (kind === "menu") {
    for (const m of await t.store.listMenu()) {
      within(`menu "${m.name}" price_cents`, m.priceCents, 0, MAX_PRICE * 100);
      within(`menu "${m.name}" stock`, m.stock, 0, MAX_QUANTITY);
    }
  } else if (kind === "inventory") {
    for (const i of await t.store.listInventory()) {
      within(`inventory "${i.name}" quantity`, i.quantity, 0, MAX_QUANTITY);
      within(`"${i.name}" low_threshold`, i.lowThreshold, 0, MAX_QUANTITY);
    }
  } else if (kind === "vending") {
    const vending = openVending(t.store, t.config);
    for (const p of await vending.listProducts()) {
      within(`product "${p.name}" stock`, p.stock, 0, MAX_INT);
    }
    for (const m of await vending.listMachines()) {
      within(`machine "${m.name}" usage_count`, m.usageCount, 0, MAX_INT);
    }
  } else {
    for (const o of await t.store.listOrders({ limit: 1000 })) {
      for (const l of o.items) {
        within(`order ${o.id} quantity`, l.quantity, 1, MAX_LINE_QUANTITY);
      }
    }
  }
}

const KINDS: Kind[] = ["menu", "inventory", "vending", "orders"];

/** Sends one value to one field and checks the answer. */
async function probe(t: TestCtx, f: Field, sent: Sent, n: number) {
  const [method, path, text] = bodyText(f, sent, n);
  const res = await t.app.request(path, {
    method,
    headers: { "content-type": "application/json" },
    body: text,
  });
  const body = await res.text();
  const what = `${f.route} ${f.field} = ${text} → ${res.status} ${body}`;
  assert.ok(res.status < 500, what);
  const valid = inRange(f, read(sent));
  if (res.status < 300) {
    assert.ok(valid, `accepted out of range: ${what}`);
    // A valid delta or a restored stock can still carry a sum past its limit.
    return await assertStoredInRange(t, f.kind);
  }
  if (valid && f.mustAccept) assert.fail(`refused in range: ${what}`);
  if (res.status === 409) {
    assert.ok(f.conflicts?.test(body), `unexpected 409: ${what}`);
    return;
  }
  if (res.status === 404) return; // an id of nothing, or a choice that no longer exists
  const named = body.includes(f.field) || body.includes(String(f.max)) ||
    body.includes(String(f.min)) || body.includes(f.field.replace("_", " "));
  // Laravel's rule errors (machine state, coins ≠ count, stock) name no field.
  const rule = /"error":"(Machine is not|Coins must|Insufficient stock)/.test(
    body,
  );
  assert.ok(named || rule, `refusal names neither field nor limit: ${what}`);
}

async function fixture(t: TestCtx): Promise<Fixture> {
  const post = async (path: string, body: unknown) => {
    const res = await t.app.request(path, jsonReq("POST", body));
    assert.ok(res.status < 300, `${path}: ${res.status}`);
    return (await res.json()).id as number;
  };
  return {
    menu: await post("/menu", { name: "Tea", price: 2, stock: MAX_QUANTITY }),
    inventory: await post("/inventory", { name: "Flour", quantity: 10 }),
    product: await post("/api/products", { name: "Cola", stock: 10 }),
    machine: await post("/api/vending-machines", { name: "Machine A" }),
  };
}

test("numbers at and past every documented limit never 5xx nor leave their range", async (t) => {
  const all = fields(await fixture(t));
  let n = 0;
  for (const f of all) {
    for (const sent of edges(f)) await probe(t, f, sent, n++);
  }
  for (const kind of KINDS) await assertStoredInRange(t, kind);
  const value = fc.oneof(
    fc.integer().map((value): Sent => ({ value })),
    fc.double().map((value): Sent => ({ value })),
    fc.integer({ min: -3, max: 3 }).chain((d) =>
      fc.constantFrom(
        ...all.map((f) => f.max + d),
        ...all.map((f) => f.min + d),
      )
    ).map((value): Sent => ({ value })),
    fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map((b): Sent => ({
      literal: String(b),
    })),
    fc.stringMatching(/^-?\d{1,25}$/).map((value): Sent => ({ value })),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...all), value, async (f, sent) => {
      await probe(t, f, sent, n++);
    }),
    { numRuns: RUNS },
  );
  for (const kind of KINDS) await assertStoredInRange(t, kind);
});

test("start-work's wait_ms at and past its limit never 5xx", async (t) => {
  for (
    const wait of [
      0,
      -1,
      MAX_WAIT_MS + 1,
      0.5,
      2 ** 53,
      1e308,
      "9".repeat(400),
      "x",
    ]
  ) {
    const res = await t.app.request(
      `/api/orchestrator/start-work?wait_ms=${wait}`,
      { method: "POST" },
    );
    const body = await res.text();
    assert.ok(res.status < 500, `${wait} → ${res.status} ${body}`);
    if (wait !== 0) {
      assert.equal(res.status, 422, `${wait} → ${body}`);
      assert.match(body, /wait/);
    }
  }
  // At the limit with an idle machine: answered at once, not after 30 s.
  await t.app.request("/api/vending-machines", jsonReq("POST", { name: "A" }));
  const res = await t.app.request(
    `/api/orchestrator/start-work?wait_ms=${MAX_WAIT_MS}`,
    { method: "POST" },
  );
  assert.equal(res.status, 200);
  await res.body?.cancel();
});
