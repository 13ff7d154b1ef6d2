/** Row mapping and read queries for PostgreSQL; used by the pool and inside transactions. */
import type { Row, Sql, TransactionSql } from "postgres";
import type { OrderStatus } from "../../domain/order_status.ts";
import type {
  FeedEvent,
  InventoryItem,
  MenuItem,
  Order,
  OrderLine,
  OrderSource,
} from "../../domain/types.ts";
import { oneLineJson, TextEvent } from "../../domain/text_event.ts";

/** Either the pool or a transaction: both run tagged-template SQL. */
export type Q = Sql | TransactionSql;

const ms = (v: unknown) => (v as Date).getTime();
const numOrNull = (v: unknown) => (v === null ? null : Number(v));
const strOrNull = (v: unknown) => (v === null ? null : String(v));

/** Maps a `menu_items` row. */
export function toMenuItem(r: Row): MenuItem {
  return {
    id: Number(r.id),
    name: r.name,
    description: r.description,
    priceCents: Number(r.price_cents),
    category: r.category,
    available: r.available === true,
    stock: numOrNull(r.stock),
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
    nameKey: r.name_key ?? undefined,
  };
}

/** Maps an `inventory_items` row. */
export function toInventoryItem(r: Row): InventoryItem {
  return {
    id: Number(r.id),
    name: r.name,
    quantity: Number(r.quantity),
    unit: r.unit,
    lowThreshold: numOrNull(r.low_threshold),
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
  };
}

/** Maps an `events` row read with `data::text AS data_json`: streams send the text as it is. */
export function toEvent(r: Row): FeedEvent {
  return new TextEvent({
    id: Number(r.id),
    type: r.type,
    dataJson: oneLineJson(r.data_json),
    createdAt: ms(r.created_at),
  });
}

function toLine(r: Row): OrderLine {
  return {
    id: Number(r.id),
    menuItemId: numOrNull(r.menu_item_id),
    name: r.name,
    quantity: Number(r.quantity),
    unitPriceCents: numOrNull(r.unit_price_cents),
    notes: strOrNull(r.notes),
    stockTaken: Number(r.stock_taken),
  };
}

/** Maps an `orders` row plus its lines. */
export function toOrder(r: Row, lines: OrderLine[]): Order {
  return {
    id: Number(r.id),
    status: r.status as OrderStatus,
    customerName: strOrNull(r.customer_name),
    table: strOrNull(r.table_label),
    notes: strOrNull(r.notes),
    totalCents: Number(r.total_cents),
    version: Number(r.version),
    source: r.source as OrderSource,
    items: lines,
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
  };
}

/**
 * Orders with their lines in one round trip: `filter` follows `WHERE` (and
 * may name the columns of `orders`), `tail` orders and limits. Each row
 * carries its lines as a JSON array, so a listing is one query, not one for
 * the orders and another for their lines.
 */
export async function selectOrders(
  q: Q,
  filter: ReturnType<Q>,
  tail: ReturnType<Q>,
): Promise<Order[]> {
  const rows = await q`
    SELECT o.*, COALESCE(
      (SELECT json_agg(l ORDER BY l.id) FROM order_items l WHERE l.order_id = o.id),
      '[]'::json) AS lines
    FROM orders o WHERE ${filter} ${tail}`;
  return rows.map((r) => toOrder(r, (r.lines as Row[]).map(toLine)));
}

/** Loads one order with its lines (both queries at once); `lock` takes the row for update. */
export async function selectOrder(
  q: Q,
  id: number,
  opts: { lock?: boolean } = {},
): Promise<Order | null> {
  const head = opts.lock
    ? q`SELECT * FROM orders WHERE id = ${id} FOR UPDATE`.execute()
    : q`SELECT * FROM orders WHERE id = ${id}`.execute();
  const lines = q`SELECT * FROM order_items WHERE order_id = ${id} ORDER BY id`
    .execute();
  const [[row], lineRows] = await Promise.all([head, lines]);
  return row ? toOrder(row, lineRows.map(toLine)) : null;
}

/** Loads one menu item. */
export async function selectMenuItem(
  q: Q,
  id: number,
): Promise<MenuItem | null> {
  const [row] = await q`SELECT * FROM menu_items WHERE id = ${id}`;
  return row ? toMenuItem(row) : null;
}
