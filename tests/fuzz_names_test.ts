/**
 * Unicode names, generated: accented capitals, combining marks (NFD), the
 * Turkish dotted and dotless i, sharp s, Greek sigma, compatibility forms and
 * emoji. A dish created under one spelling is the same dish under every
 * casing and normalisation of it: a table order links it (priced, stock
 * taken) or is refused with 409 once it is sold out, a second menu item so
 * spelled is a 409, and nothing answers a 5xx. Bounded: `FUZZ_NAME_RUNS`.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { nameKey } from "../domain/name_key.ts";
import { jsonReq, type TestCtx, testEachBackend } from "./_helpers.ts";

const RUNS = Number(Deno.env.get("FUZZ_NAME_RUNS") ?? 100);

/** Pieces that case, normalisation or a Turkish keyboard spell differently. */
const TRICKY = [
  "É",
  "é",
  "E\u0301",
  "e\u0301",
  "Ñ",
  "n\u0303",
  "Ç",
  "c\u0327",
  "ü",
  "U\u0308",
  "I",
  "ı",
  "İ",
  "i",
  "ß",
  "ẞ",
  "Σ",
  "σ",
  "ς",
  "Ǆ",
  "ǅ",
  "ﬁ",
  "Ｃ",
  "\u00a0",
  "Å",
  "Å",
  "😀",
  "🍜",
  "👩‍🍳",
  "🇪🇸",
  " ",
  "-",
];

/**
 * The documented exception of `nameKey`: U+0345 beside another mark may key
 * differently once cased, so generated text leaves it out.
 */
function withoutIotaSubscript(s: string): boolean {
  return !s.normalize("NFD").includes("\u0345");
}

/** A menu name: tricky pieces and any graphemes, trimmed as the API stores it. */
const dishName = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...TRICKY) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom("a", "b", "Z", "crème", "Çay") },
  ),
  { minLength: 1, maxLength: 10 },
).map((parts) => parts.join("").trim())
  .filter((n) => n.length > 0 && n.length <= 40 && !n.includes("\0"))
  .filter(withoutIotaSubscript);

/** Ways a diner or a device may spell the same name. */
const SPELLINGS: [string, (s: string) => string][] = [
  ["as created", (s) => s],
  ["upper case", (s) => s.toUpperCase()],
  ["lower case", (s) => s.toLowerCase()],
  ["Turkish upper case", (s) => s.toLocaleUpperCase("tr")],
  ["Turkish lower case", (s) => s.toLocaleLowerCase("tr")],
  ["NFD", (s) => s.normalize("NFD")],
  ["NFC", (s) => s.normalize("NFC")],
  ["NFD upper case", (s) => s.toUpperCase().normalize("NFD")],
  [
    "title-ish",
    (s) => [...s].map((c, i) => i % 2 ? c : c.toUpperCase()).join(""),
  ],
];
const spelling = fc.constantFrom(...SPELLINGS);

Deno.test("nameKey() is idempotent and blind to case and normalisation for generated text", () => {
  const anyText = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 12 }),
    fc.array(fc.constantFrom(...TRICKY), { maxLength: 8 }).map((a) =>
      a.join("")
    ),
    fc.string({ unit: "binary", maxLength: 8 }),
  ).filter(withoutIotaSubscript);
  fc.assert(
    fc.property(anyText, spelling, (s, [how, spell]) => {
      const key = nameKey(s);
      assert.equal(nameKey(key), key, `idempotent: ${JSON.stringify(s)}`);
      assert.equal(nameKey(spell(s)), key, `${how}: ${JSON.stringify(s)}`);
    }),
    { numRuns: 600 },
  );
});

async function call(t: TestCtx, method: string, path: string, body?: unknown) {
  const res = await t.app.request(path, jsonReq(method, body));
  const text = await res.text();
  const what = `${method} ${path} ${
    JSON.stringify(body)
  } → ${res.status} ${text}`;
  assert.ok(res.status < 500, what);
  return { status: res.status, json: text ? JSON.parse(text) : null, what };
}

/** A one-line table order; resolves to the answer and the linked menu id. */
async function order(t: TestCtx, name: string) {
  const res = await call(t, "POST", "/api/order", {
    table: "T",
    items: [{ name, quantity: 1 }],
  });
  if (res.status !== 201) return { ...res, linked: null, total: null };
  const stored = (await call(t, "GET", `/orders/${res.json.id}`)).json;
  return { ...res, linked: stored.items[0].menu_item_id, total: stored.total };
}

/** A spelling the API accepts as a name (the schemas trim and cap at 100). */
const fits = (s: string) => s.trim().length > 0 && s.trim().length <= 100;

testEachBackend(
  `${RUNS} generated Unicode dishes: every spelling links its own item, sold out is 409, a duplicate is 409, never a 5xx`,
  async (t) => {
    // Every key created so far, with its item: what each new name must meet.
    const made = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        dishName,
        spelling,
        spelling,
        spelling,
        async (name, [h1, s1], [h2, s2], [h3, s3]) => {
          const created = await call(t, "POST", "/menu", {
            name,
            price: 2.5,
            stock: 1,
          });
          const known = made.get(nameKey(name));
          if (known !== undefined) {
            // An item spelled so exists (sold out by its own run): a duplicate,
            // and an order for it is refused, never sold unlinked.
            assert.equal(created.status, 409, created.what);
            assert.equal(created.json.error.code, "duplicate_name");
            const refused = await order(t, name);
            assert.equal(refused.status, 409, refused.what);
            return;
          }
          assert.equal(created.status, 201, created.what);
          const id = created.json.id;
          made.set(nameKey(name), id);

          const dup = s1(name);
          if (fits(dup)) {
            const again = await call(t, "POST", "/menu", {
              name: dup,
              price: 1,
            });
            assert.equal(again.status, 409, `${h1}: ${again.what}`);
          }
          const first = s2(name);
          if (fits(first)) {
            const sold = await order(t, first);
            assert.equal(sold.status, 201, `${h2}: ${sold.what}`);
            assert.equal(sold.linked, id, `${h2}: ${sold.what}`);
            assert.equal(sold.total, 2.5);
          } else {
            await call(t, "PUT", `/menu/${id}`, { stock: 0, available: false });
          }
          const after = (await call(t, "GET", `/menu/${id}`)).json;
          assert.deepEqual([after.stock, after.available], [0, false]);
          const second = s3(name);
          if (fits(second)) {
            const refused = await order(t, second);
            assert.equal(refused.status, 409, `${h3}: ${refused.what}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
    const menu = (await call(t, "GET", "/menu")).json;
    assert.equal(menu.length, made.size);
    assert.equal(
      new Set(menu.map((m: { name: string }) => nameKey(m.name))).size,
      made.size,
    );
  },
);
