/**
 * The per-request CPU of the order path outside the database: validating a
 * `POST /orders` body with zod, fingerprinting it for idempotency (canonical
 * JSON + SHA-256; WebCrypto as the server does it, and node:crypto for
 * comparison) and serialising the stored order back to JSON.
 */
import { createHash } from "node:crypto";
import { canonicalJson, fingerprint } from "../domain/idempotency.ts";
import { NewOrderBody } from "../domain/schemas.ts";
import type { Order } from "../domain/types.ts";
import { orderJson } from "../domain/wire.ts";

/** The original reproduction's order, as a cashier sends it. */
const SMALL = {
  items: [{ menu_item_id: 1, quantity: 2 }, { menu_item_id: 2, quantity: 1 }],
  notes: "Cashier 1 - Order 1",
};

/** A large table order: 20 lines with notes. */
const LARGE = {
  items: Array.from({ length: 20 }, (_, i) => ({
    menu_item_id: i + 1,
    quantity: 1 + (i % 3),
    notes: i % 2 ? "no onions" : null,
  })),
  customer_name: "Table of twelve",
  table: 12,
  notes: "Birthday, bring the cake last",
};

const NOW = Date.UTC(2026, 10, 21, 19, 30);

function stored(body: typeof LARGE | typeof SMALL): Order {
  return {
    id: 123_456,
    status: "pending",
    customerName: "customer_name" in body ? body.customer_name : null,
    table: "table" in body ? String(body.table) : null,
    notes: body.notes,
    totalCents: 12_345,
    version: 1,
    source: "pos",
    items: body.items.map((l, i) => ({
      id: 1000 + i,
      menuItemId: l.menu_item_id,
      name: `Dish ${l.menu_item_id}`,
      quantity: l.quantity,
      unitPriceCents: 1250,
      notes: "notes" in l ? l.notes : null,
      stockTaken: 0,
    })),
    createdAt: NOW,
    updatedAt: NOW,
  };
}

for (const [name, body] of [["2 lines", SMALL], ["20 lines", LARGE]] as const) {
  const raw = JSON.stringify(body);
  const order = stored(body);

  Deno.bench(`zod NewOrderBody.parse, ${name}`, {
    group: `parse ${name}`,
    baseline: true,
  }, () => {
    NewOrderBody.parse(JSON.parse(raw));
  });

  Deno.bench(`JSON.parse only, ${name}`, { group: `parse ${name}` }, () => {
    JSON.parse(raw);
  });

  Deno.bench(`canonicalJson, ${name}`, { group: `fingerprint ${name}` }, () => {
    canonicalJson(body);
  });

  Deno.bench(`fingerprint (canonical JSON + SHA-256), ${name}`, {
    group: `fingerprint ${name}`,
    baseline: true,
  }, async () => {
    await fingerprint(body);
  });

  // For comparison: the same digest, synchronous, through node:crypto.
  Deno.bench(`canonical JSON + node:crypto sha256 (sync), ${name}`, {
    group: `fingerprint ${name}`,
  }, () => {
    createHash("sha256").update(canonicalJson(body)).digest("hex");
  });

  Deno.bench(`orderJson + JSON.stringify, ${name}`, {
    group: `serialise ${name}`,
  }, () => {
    JSON.stringify(orderJson(order));
  });
}
