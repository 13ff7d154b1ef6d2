/**
 * Orders in groups on libSQL. Placing orders one writer job each costs about
 * ten statements per order (savepoint, key lookup, menu read, stock, order,
 * lines, event, key, release), and each native call crosses the binding, so
 * under a rush the database thread spent more time per order than the HTTP
 * thread. Here one writer job takes every order queued when it starts and
 * writes them with a fixed number of statements: the batch travels as one
 * JSON parameter, read back with `json_each`.
 *
 * The rules are those of one order at a time (`domain/order_batch.ts`): each
 * order is priced in arrival order against the menu rows this transaction
 * read, so stock reaching 0 refuses the next order exactly as before. A
 * refused order fails alone; anything unexpected throws, the writer rolls the
 * job back to its savepoint, and the store places the orders one by one.
 */
import { keyReused } from "../../domain/idempotency.ts";
import {
  type Accepted,
  keyOf,
  type OrderJob,
  priceJob,
} from "../../domain/order_batch.ts";
import { menuRefs } from "../../domain/pricing.ts";
import type { MenuItem } from "../../domain/types.ts";
import { orderJson } from "../../domain/wire.ts";
import type { Row } from "@libsql/client";
import { toMenuItem } from "./rows.ts";
import { jsonParam, type WriteTx } from "./writer.ts";

const SELECT_KEYS =
  `SELECT k.scope, k.key, k.fingerprint, k.status, k.body, k.resource_id
  FROM json_each(?) j
  JOIN idempotency_keys k ON k.scope = j.value ->> 0 AND k.key = j.value ->> 1`;

const SELECT_MENU = `SELECT * FROM menu_items
  WHERE id IN (SELECT value FROM json_each(?))
     OR name_key IN (SELECT value FROM json_each(?))`;

const INSERT_ORDERS =
  `INSERT INTO orders (status, customer_name, table_label, notes,
    total_cents, version, source, created_at, updated_at)
  SELECT 'pending', value ->> 0, value ->> 1, value ->> 2, value ->> 3, 1, value ->> 4, ?, ?
  FROM json_each(?) ORDER BY key`;

const INSERT_LINES =
  `INSERT INTO order_items (order_id, menu_item_id, name, quantity,
    unit_price_cents, notes, stock_taken)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
    value ->> 6
  FROM json_each(?) ORDER BY key`;

// Guarded by the stock this transaction read: only this writer changes it.
const SET_STOCK =
  `UPDATE menu_items SET stock = ?, available = ?, updated_at = ?
  WHERE id = ? AND stock = ?`;

const INSERT_KEYS =
  `INSERT INTO idempotency_keys (scope, key, fingerprint, status, body,
    resource_id, created_at)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ?
  FROM json_each(?)`;

/** An accepted order with its body as JSON text. */
type Written = Accepted & { json: string };

/**
 * Places `batch` inside one writer job (no two jobs share a key; see
 * `takeBatch`). Resolves to the function that answers every job, to call
 * after COMMIT.
 */
export async function placeOrderBatch(
  tx: WriteTx,
  batch: OrderJob[],
): Promise<() => void> {
  const stored = await storedOutcomes(tx, batch);
  const refs = menuRefs(batch.flatMap((j) => j.input.items));
  const rows = await tx.all(SELECT_MENU, [
    jsonParam(refs.ids),
    jsonParam(refs.names),
  ]);
  const items = new Map<number, MenuItem>();
  for (const r of rows) {
    const m = toMenuItem(r);
    items.set(m.id, m);
  }
  const read = new Map(items);
  const answers: (() => void)[] = [];
  const accepted: Accepted[] = [];
  for (const job of batch) {
    const row = job.idempotency && stored.get(keyOf(job.idempotency));
    if (row) {
      answers.push(replayOf(job, row));
      continue;
    }
    try {
      accepted.push(priceJob(job, items, tx.now));
    } catch (e) {
      answers.push(() => job.reject(e));
    }
  }
  const written = accepted.length > 0
    ? await writeOrders(tx, accepted, { read, items })
    : [];
  return () => {
    for (const w of written) {
      w.job.resolve({
        orderId: w.order.id,
        status: w.job.status,
        body: w.body,
        json: w.json,
        replayed: false,
      });
    }
    for (const answer of answers) answer();
  };
}

/** Outcomes already stored under the batch's keys, by `keyOf`. */
async function storedOutcomes(
  tx: WriteTx,
  batch: OrderJob[],
): Promise<Map<string, Row>> {
  const keys = batch.flatMap((j) =>
    j.idempotency ? [[j.idempotency.scope, j.idempotency.key]] : []
  );
  if (keys.length === 0) return new Map();
  const rows = await tx.all(SELECT_KEYS, [jsonParam(keys)]);
  return new Map(
    rows.map((r) => [keyOf({ scope: String(r.scope), key: String(r.key) }), r]),
  );
}

/** Inserts orders, lines, stock, events and keys; ids come from the rowids drawn. */
async function writeOrders(
  tx: WriteTx,
  accepted: Accepted[],
  menu: { read: Map<number, MenuItem>; items: Map<number, MenuItem> },
): Promise<Written[]> {
  const lastOrder = await tx.insert(INSERT_ORDERS, [
    tx.now,
    tx.now,
    jsonParam(
      accepted.map(({ order: o }) => [
        o.customerName,
        o.table,
        o.notes,
        o.totalCents,
        o.source,
      ]),
    ),
  ]);
  // One statement on the only writer: its rowids are consecutive.
  let orderId = lastOrder - accepted.length + 1;
  const lines: unknown[][] = [];
  for (const { order } of accepted) {
    order.id = orderId++;
    for (const l of order.items) {
      lines.push([
        order.id,
        l.menuItemId,
        l.name,
        l.quantity,
        l.unitPriceCents,
        l.notes,
        l.stockTaken,
      ]);
    }
  }
  let lineId = await tx.insert(INSERT_LINES, [jsonParam(lines)]) -
    lines.length + 1;
  for (const { order } of accepted) {
    for (const l of order.items) l.id = lineId++;
  }
  await writeStock(tx, accepted, menu);
  const events: { type: string; data: unknown }[] = [];
  const keys: unknown[][] = [];
  const written = accepted.map((a) => {
    for (const e of a.events) events.push({ type: e.t, data: e.d });
    events.push({ type: "order.created", data: orderJson(a.order) });
    const body = a.job.render(a.order);
    const json = JSON.stringify(body);
    const k = a.job.idempotency;
    if (k) {
      keys.push([
        k.scope,
        k.key,
        k.fingerprint,
        a.job.status,
        json,
        a.order.id,
      ]);
    }
    return { ...a, body, json };
  });
  await tx.events(events);
  if (keys.length > 0) {
    await tx.run(INSERT_KEYS, [tx.now, jsonParam(keys)]);
  }
  return written;
}

/** Writes the final stock of every tracked item the batch took from. */
async function writeStock(
  tx: WriteTx,
  accepted: Accepted[],
  menu: { read: Map<number, MenuItem>; items: Map<number, MenuItem> },
): Promise<void> {
  const touched = new Set(accepted.flatMap((a) => a.taken));
  for (const id of touched) {
    const now = menu.items.get(id)!;
    const changed = await tx.run(SET_STOCK, [
      now.stock,
      now.available ? 1 : 0,
      tx.now,
      id,
      menu.read.get(id)!.stock,
    ]);
    if (changed !== 1) {
      throw new Error(`stock of menu item ${id} changed outside the writer`);
    }
  }
}

/** Answers a job whose key is already stored: replay, or 422 for another body. */
function replayOf(job: OrderJob, row: Row): () => void {
  const idem = job.idempotency!;
  if (row.fingerprint !== idem.fingerprint) {
    return () => job.reject(keyReused(idem));
  }
  const json = String(row.body);
  return () =>
    job.resolve({
      orderId: Number(row.resource_id),
      status: Number(row.status),
      body: JSON.parse(json),
      json,
      replayed: true,
    });
}
