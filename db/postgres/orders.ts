/**
 * Order writes on PostgreSQL, each inside one `runTransaction`. A keyed order
 * takes three round trips: [BEGIN, claim key, load menu], [insert order and
 * lines], [take stock, store outcome, insert events, COMMIT]. The hot stock
 * rows are locked only during the last one, on the server, never across a
 * client round trip.
 */
import type { Sql } from "postgres";
import type { IdemKey } from "../../domain/idempotency.ts";
import {
  checkStatusChange,
  type OrderStatus,
} from "../../domain/order_status.ts";
import {
  menuLookup,
  menuRefs,
  newOrder,
  outOfStock,
  priceOrder,
} from "../../domain/pricing.ts";
import { MAX_QUANTITY } from "../../domain/schemas.ts";
import type { MenuItem, NewOrder, Order, Placed } from "../../domain/types.ts";
import { menuItemJson, orderJson } from "../../domain/wire.ts";
import { claimKey, storeOutcome } from "./idempotency.ts";
import { selectMenuItem, selectOrder, toMenuItem } from "./rows.ts";
import { isCheckViolation } from "./pool.ts";
import type { PgTx } from "./tx.ts";

/** How a placed order is answered and remembered (see `PlaceOptions`). */
export interface PlaceOrderOptions {
  idempotency?: IdemKey | null;
  status: number;
  render: (order: Order) => unknown;
  /** The pool: a refused stock update is explained by re-reading the item. */
  pool: Sql;
}

function loadMenu(tx: PgTx, input: NewOrder): Promise<MenuItem[]> {
  const { ids, names } = menuRefs(input.items);
  return tx.sql`
    SELECT * FROM menu_items
    WHERE id = ANY(${ids}::bigint[]) OR name_key = ANY(${names}::text[])`
    .execute().then((rows) => rows.map(toMenuItem));
}

/** The refusal pricing gives for the item as it is now (sold out makes it unavailable too). */
async function refusal(pool: Sql, item: MenuItem, quantity: number) {
  const current = await selectMenuItem(pool, item.id) ?? { ...item, stock: 0 };
  try {
    priceOrder([{ menuItemId: item.id, quantity }], menuLookup([current]));
  } catch (e) {
    return e;
  }
  return outOfStock(item, current.stock ?? 0, quantity);
}

/**
 * Takes stock with a guarded update sent with COMMIT: `CHECK (stock >= 0)`
 * refuses an order that would oversell (and the CASE refuses an item switched
 * off meanwhile), which rolls the whole transaction back. An item reaching 0
 * becomes unavailable and gets a `menu.updated` event.
 *
 * The menu was read without a lock: an item untracked meanwhile (stock NULL)
 * gives nothing, so the same statement sets its lines' `stock_taken` back to
 * 0 and a cancel cannot return stock this order never took.
 */
function takeStock(
  tx: PgTx,
  pool: Sql,
  order: { id: number; demand: { item: MenuItem; quantity: number }[] },
): void {
  for (const { item, quantity } of order.demand) {
    tx.defer(
      tx.sql`
        WITH m AS (
          UPDATE menu_items
          SET stock = CASE WHEN available THEN stock - ${quantity} ELSE -1 END,
            available = CASE WHEN stock - ${quantity} = 0 THEN false ELSE available END,
            updated_at = ${tx.now}
          WHERE id = ${item.id}
          RETURNING stock)
        UPDATE order_items SET stock_taken = 0
        WHERE order_id = ${order.id} AND menu_item_id = ${item.id}
          AND (SELECT stock FROM m) IS NULL`,
      (e) => isCheckViolation(e) ? refusal(pool, item, quantity) : e,
    );
    const soldOut = {
      ...item,
      stock: 0,
      available: false,
      updatedAt: tx.now.getTime(),
    };
    tx.event("menu.updated", menuItemJson(soldOut), { ifSoldOut: item.id });
  }
}

async function insertOrder(
  tx: PgTx,
  input: NewOrder,
  menu: MenuItem[],
): Promise<{ order: Order; demand: { item: MenuItem; quantity: number }[] }> {
  const priced = priceOrder(input.items, menuLookup(menu));
  const lines = priced.lines.map((l, n) => ({
    n,
    menu_item_id: l.menuItemId,
    name: l.name,
    quantity: l.quantity,
    unit_price_cents: l.unitPriceCents,
    notes: l.notes,
    stock_taken: l.stockTaken,
  }));
  const [row] = await tx.sql`
    WITH o AS (
      INSERT INTO orders (status, customer_name, table_label, notes, total_cents,
        version, source, created_at, updated_at)
      VALUES ('pending', ${input.customerName ?? null}, ${input.table ?? null},
        ${input.notes ?? null}, ${priced.totalCents}, 1, ${
    input.source ?? "pos"
  },
        ${tx.now}, ${tx.now})
      RETURNING id),
    l AS (
      INSERT INTO order_items (order_id, menu_item_id, name, quantity,
        unit_price_cents, notes, stock_taken)
      SELECT o.id, x.menu_item_id, x.name, x.quantity, x.unit_price_cents, x.notes,
        x.stock_taken
      FROM o, json_to_recordset(${JSON.stringify(lines)}::text::json)
        AS x(n integer, menu_item_id bigint, name text, quantity integer,
          unit_price_cents integer, notes text, stock_taken integer)
      ORDER BY x.n
      RETURNING id)
    SELECT (SELECT id FROM o) AS order_id,
      (SELECT array_agg(id ORDER BY id) FROM l) AS line_ids`;
  const lineIds = (row!.line_ids as (number | string)[]).map(Number);
  const order = newOrder(input, priced, {
    id: Number(row!.order_id),
    lineIds,
    now: tx.now.getTime(),
  });
  // Lock stock rows in id order: two orders never wait on each other in a cycle.
  const demand = [...priced.demand.values()].sort((a, b) =>
    a.item.id - b.item.id
  );
  return { order, demand };
}

/** Places an order exactly once under its key: claim, price, insert, take stock, record. */
export async function placeOrderTx(
  tx: PgTx,
  input: NewOrder,
  opts: PlaceOrderOptions,
): Promise<Placed> {
  const idem = opts.idempotency ?? null;
  const claim = idem ? claimKey(tx, idem) : null;
  // Sent right behind the claim, so its snapshot follows any wait on the key.
  const menu = loadMenu(tx, input);
  menu.catch(() => {}); // unused on a replay
  const replay = claim ? await claim : null;
  if (replay) {
    return {
      orderId: replay.resourceId,
      status: replay.status,
      body: replay.body,
      replayed: true,
    };
  }
  const { order, demand } = await insertOrder(tx, input, await menu);
  takeStock(tx, opts.pool, { id: order.id, demand });
  tx.event("order.created", orderJson(order));
  const out = {
    status: opts.status,
    body: opts.render(order),
    resourceId: order.id,
  };
  if (idem) storeOutcome(tx, idem, out);
  return {
    orderId: order.id,
    status: out.status,
    body: out.body,
    replayed: false,
  };
}

/**
 * Gives a cancelled order's stock back: exactly what each line took when it
 * was placed, never what its item tracks now (an item untracked then took
 * nothing, whatever its stock is today).
 */
async function restoreStock(tx: PgTx, order: Order): Promise<void> {
  const back = new Map<number, number>();
  for (const l of order.items) {
    if (l.menuItemId !== null && l.stockTaken > 0) {
      back.set(l.menuItemId, (back.get(l.menuItemId) ?? 0) + l.stockTaken);
    }
  }
  for (const [id, quantity] of [...back].sort((a, b) => a[0] - b[0])) {
    // An item sold out by stock (0 and unavailable) comes back; one switched off by hand with stock left stays off.
    // Stock set to the maximum since the order was placed stays at the maximum.
    const [row] = await tx.sql`
      UPDATE menu_items SET available = CASE WHEN stock = 0 THEN true ELSE available END,
        stock = LEAST(stock + ${quantity}, ${MAX_QUANTITY}), updated_at = ${tx.now}
      WHERE id = ${id} AND stock IS NOT NULL
      RETURNING *`;
    if (row) tx.event("menu.updated", menuItemJson(toMenuItem(row)));
  }
}

/** Moves an order to `status`, checking the lifecycle and the caller's version. */
export async function updateOrderStatus(
  tx: PgTx,
  id: number,
  status: OrderStatus,
  ifVersion?: number,
): Promise<Order> {
  const order = await selectOrder(tx.sql, id, { lock: true });
  checkStatusChange(order, { id, status, ifVersion });
  if (status === "cancelled") await restoreStock(tx, order);
  tx.defer(tx.sql`
    UPDATE orders SET status = ${status}, version = version + 1, updated_at = ${tx.now}
    WHERE id = ${id}`);
  const updated: Order = {
    ...order,
    status,
    version: order.version + 1,
    updatedAt: tx.now.getTime(),
  };
  tx.event("order.updated", orderJson(updated));
  return updated;
}
