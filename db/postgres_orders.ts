/** Order writes on PostgreSQL; each function runs inside one `runTransaction`. */
import { NotFoundError, PreconditionFailedError } from "../domain/errors.ts";
import { assertTransition, type OrderStatus } from "../domain/order_status.ts";
import {
  menuLookup,
  menuRefs,
  outOfStock,
  priceOrder,
} from "../domain/pricing.ts";
import type { MenuItem, NewOrder, Order, OrderLine } from "../domain/types.ts";
import { menuItemJson, orderJson } from "../domain/wire.ts";
import { selectOrder, toMenuItem } from "./postgres_rows.ts";
import type { PgTx } from "./postgres_tx.ts";

async function loadMenu(tx: PgTx, input: NewOrder): Promise<MenuItem[]> {
  const { ids, names } = menuRefs(input.items);
  const rows = await tx.sql`
    SELECT * FROM menu_items
    WHERE id = ANY(${ids}::bigint[]) OR lower(name) = ANY(${names}::text[])`;
  return rows.map(toMenuItem);
}

/**
 * Takes stock with a conditional update, so concurrent orders can never take
 * more than there is; an item reaching 0 becomes unavailable. When the update
 * matches nothing, the current row says why (sold out, or switched off).
 */
async function takeStock(
  tx: PgTx,
  item: MenuItem,
  quantity: number,
): Promise<void> {
  const [row] = await tx.sql`
    UPDATE menu_items SET stock = stock - ${quantity},
      available = CASE WHEN stock - ${quantity} = 0 THEN false ELSE available END,
      updated_at = ${tx.now}
    WHERE id = ${item.id} AND available AND stock >= ${quantity}
    RETURNING *`;
  if (!row) {
    // Refuse exactly as pricing would have against the row as it is now
    // (stock reaching 0 also made it unavailable), like the serial libSQL path.
    const [now] = await tx.sql`SELECT * FROM menu_items WHERE id = ${item.id}`;
    const current = now ? toMenuItem(now) : { ...item, stock: 0 };
    priceOrder(
      [{ menuItemId: item.id, quantity }],
      menuLookup([current]),
    );
    throw outOfStock(item, current.stock ?? 0, quantity);
  }
  const after = toMenuItem(row);
  if (after.stock === 0) await tx.event("menu.updated", menuItemJson(after));
}

/** Prices, takes stock and inserts the order with its lines and its event. */
export async function insertOrder(tx: PgTx, input: NewOrder): Promise<Order> {
  const priced = priceOrder(input.items, menuLookup(await loadMenu(tx, input)));
  // Lock stock rows in id order: two orders never wait on each other in a cycle.
  const demand = [...priced.demand.values()].sort((a, b) =>
    a.item.id - b.item.id
  );
  for (const { item, quantity } of demand) {
    await takeStock(tx, item, quantity);
  }
  const lines = priced.lines;
  const lineRows = lines.map((l, n) => ({
    n,
    menu_item_id: l.menuItemId,
    name: l.name,
    quantity: l.quantity,
    unit_price_cents: l.unitPriceCents,
    notes: l.notes,
  }));
  const rows = await tx.sql`
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
        unit_price_cents, notes)
      SELECT o.id, x.menu_item_id, x.name, x.quantity, x.unit_price_cents, x.notes
      FROM o, json_to_recordset(${JSON.stringify(lineRows)}::text::json)
        AS x(n integer, menu_item_id bigint, name text, quantity integer,
          unit_price_cents integer, notes text)
      ORDER BY x.n
      RETURNING id)
    SELECT (SELECT id FROM o) AS order_id, (SELECT array_agg(id ORDER BY id) FROM l) AS line_ids`;
  const orderId = Number(rows[0]!.order_id);
  const lineIds = (rows[0]!.line_ids as (number | string)[]).map(Number);
  const items: OrderLine[] = lines.map((l, i) => ({ ...l, id: lineIds[i]! }));
  const order: Order = {
    id: orderId,
    status: "pending",
    customerName: input.customerName ?? null,
    table: input.table ?? null,
    notes: input.notes ?? null,
    totalCents: priced.totalCents,
    version: 1,
    source: input.source ?? "pos",
    items,
    createdAt: tx.now.getTime(),
    updatedAt: tx.now.getTime(),
  };
  await tx.event("order.created", orderJson(order));
  return order;
}

/** Puts a cancelled order's tracked quantities back on the menu. */
async function restoreStock(tx: PgTx, order: Order): Promise<void> {
  const back = new Map<number, number>();
  for (const l of order.items) {
    if (l.menuItemId !== null) {
      back.set(l.menuItemId, (back.get(l.menuItemId) ?? 0) + l.quantity);
    }
  }
  for (const [id, quantity] of [...back].sort((a, b) => a[0] - b[0])) {
    // An item sold out by stock (0 and unavailable) comes back; one switched off by hand with stock left stays off.
    const [row] = await tx.sql`
      UPDATE menu_items SET available = CASE WHEN stock = 0 THEN true ELSE available END,
        stock = stock + ${quantity}, updated_at = ${tx.now}
      WHERE id = ${id} AND stock IS NOT NULL
      RETURNING *`;
    if (row) await tx.event("menu.updated", menuItemJson(toMenuItem(row)));
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
  if (!order) {
    throw new NotFoundError("order_not_found", `Order "${id}" does not exist`);
  }
  if (ifVersion !== undefined && ifVersion !== order.version) {
    throw new PreconditionFailedError(
      "version_mismatch",
      `Order "${id}" was changed by someone else (version ${order.version}, not ${ifVersion})`,
      { current_version: order.version, status: order.status },
    );
  }
  assertTransition(order.status, status, { orderId: id });
  if (status === "cancelled") await restoreStock(tx, order);
  await tx.sql`
    UPDATE orders SET status = ${status}, version = version + 1, updated_at = ${tx.now}
    WHERE id = ${id}`;
  const updated: Order = {
    ...order,
    status,
    version: order.version + 1,
    updatedAt: tx.now.getTime(),
  };
  await tx.event("order.updated", orderJson(updated));
  return updated;
}
