/** Order writes on libSQL; each function runs inside one writer job. */
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
import type { MenuItem, NewOrder, Order } from "../../domain/types.ts";
import { menuItemJson, orderJson } from "../../domain/wire.ts";
import { selectMenuItem, selectOrder, toMenuItem } from "./rows.ts";
import type { WriteTx } from "./writer.ts";

const marks = (n: number) => Array.from({ length: n }, () => "?").join(",");

async function loadMenu(tx: WriteTx, input: NewOrder): Promise<MenuItem[]> {
  const { ids, names } = menuRefs(input.items);
  const where: string[] = [];
  if (ids.length) where.push(`id IN (${marks(ids.length)})`);
  if (names.length) where.push(`name_key IN (${marks(names.length)})`);
  const rows = await tx.all(
    `SELECT * FROM menu_items WHERE ${where.join(" OR ")}`,
    [
      ...ids,
      ...names,
    ],
  );
  return rows.map(toMenuItem);
}

/** Takes stock for each tracked item; an item reaching 0 becomes unavailable. */
async function takeStock(
  tx: WriteTx,
  item: MenuItem,
  quantity: number,
): Promise<void> {
  const rows = await tx.all(
    `UPDATE menu_items SET stock = stock - ?,
       available = CASE WHEN stock - ? = 0 THEN 0 ELSE available END, updated_at = ?
     WHERE id = ? AND stock >= ? RETURNING *`,
    [quantity, quantity, tx.now, item.id, quantity],
  );
  const row = rows[0];
  if (!row) throw outOfStock(item, item.stock ?? 0, quantity);
  const after = toMenuItem(row);
  if (after.stock === 0) await tx.event("menu.updated", menuItemJson(after));
}

/** Prices, takes stock and inserts the order with its lines and its event. */
export async function insertOrder(
  tx: WriteTx,
  input: NewOrder,
): Promise<Order> {
  const priced = priceOrder(input.items, menuLookup(await loadMenu(tx, input)));
  for (const { item, quantity } of priced.demand.values()) {
    await takeStock(tx, item, quantity);
  }
  const orderId = await tx.insert(
    `INSERT INTO orders (status, customer_name, table_label, notes, total_cents, version,
       source, created_at, updated_at)
     VALUES ('pending', ?, ?, ?, ?, 1, ?, ?, ?)`,
    [
      input.customerName ?? null,
      input.table ?? null,
      input.notes ?? null,
      priced.totalCents,
      input.source ?? "pos",
      tx.now,
      tx.now,
    ],
  );
  // One multi-row INSERT on the only writer: its rowids are consecutive.
  const lastLineId = await tx.insert(
    `INSERT INTO order_items (order_id, menu_item_id, name, quantity, unit_price_cents, notes,
       stock_taken)
     VALUES ${priced.lines.map(() => "(?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
    priced.lines.flatMap((l) => [
      orderId,
      l.menuItemId,
      l.name,
      l.quantity,
      l.unitPriceCents,
      l.notes,
      l.stockTaken,
    ]),
  );
  const firstLineId = lastLineId - priced.lines.length + 1;
  const order = newOrder(input, priced, {
    id: orderId,
    lineIds: priced.lines.map((_, i) => firstLineId + i),
    now: tx.now,
  });
  await tx.event("order.created", orderJson(order));
  return order;
}

/**
 * Gives a cancelled order's stock back: exactly what each line took when it
 * was placed, never what its item tracks now (an item untracked then took
 * nothing, whatever its stock is today).
 */
async function restoreStock(tx: WriteTx, order: Order): Promise<void> {
  const back = new Map<number, number>();
  for (const l of order.items) {
    if (l.menuItemId !== null && l.stockTaken > 0) {
      back.set(l.menuItemId, (back.get(l.menuItemId) ?? 0) + l.stockTaken);
    }
  }
  for (const [id, quantity] of back) {
    // An item sold out by stock (0 and unavailable) comes back; one switched off by hand with stock left stays off.
    // Stock set to the maximum since the order was placed stays at the maximum.
    const changed = await tx.run(
      `UPDATE menu_items SET available = CASE WHEN stock = 0 THEN 1 ELSE available END,
         stock = MIN(stock + ?, ?), updated_at = ? WHERE id = ? AND stock IS NOT NULL`,
      [quantity, MAX_QUANTITY, tx.now, id],
    );
    const item = changed ? await selectMenuItem(tx, id) : null;
    if (item) await tx.event("menu.updated", menuItemJson(item));
  }
}

/** Moves an order to `status`, checking the lifecycle and the caller's version. */
export async function updateOrderStatus(
  tx: WriteTx,
  id: number,
  status: OrderStatus,
  ifVersion?: number,
): Promise<Order> {
  const order = await selectOrder(tx, id);
  checkStatusChange(order, { id, status, ifVersion });
  if (status === "cancelled") await restoreStock(tx, order);
  await tx.run(
    "UPDATE orders SET status = ?, version = version + 1, updated_at = ? WHERE id = ?",
    [status, tx.now, id],
  );
  const updated: Order = {
    ...order,
    status,
    version: order.version + 1,
    updatedAt: tx.now,
  };
  await tx.event("order.updated", orderJson(updated));
  return updated;
}
