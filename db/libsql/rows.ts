/** Row mapping and read queries for libSQL; used by the reader and inside writer jobs. */
import type { Row } from "@libsql/client";
import type { OrderStatus } from "../../domain/order_status.ts";
import type {
  FeedEvent,
  InventoryItem,
  MenuItem,
  Order,
  OrderLine,
  OrderSource,
} from "../../domain/types.ts";
import type { Sql } from "./writer.ts";
import { oneLineJson, type TextFeedEvent } from "../../domain/text_event.ts";

const num = (v: unknown) => Number(v);
/** A nullable integer column. */
export const numOrNull = (
  v: unknown,
) => (v === null || v === undefined ? null : Number(v));
const strOrNull = (
  v: unknown,
) => (v === null || v === undefined ? null : String(v));

/** Maps a `menu_items` row. */
export function toMenuItem(r: Row): MenuItem {
  return {
    id: num(r.id),
    name: String(r.name),
    description: String(r.description),
    priceCents: num(r.price_cents),
    category: String(r.category),
    available: num(r.available) === 1,
    stock: numOrNull(r.stock),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    nameKey: strOrNull(r.name_key) ?? undefined,
  };
}

/** Maps an `inventory_items` row. */
export function toInventoryItem(r: Row): InventoryItem {
  return {
    id: num(r.id),
    name: String(r.name),
    quantity: num(r.quantity),
    unit: String(r.unit),
    lowThreshold: numOrNull(r.low_threshold),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Maps an `events` row. */
export function toEvent(r: Row): FeedEvent {
  const { dataJson, ...e } = toTextEvent(r);
  return { ...e, data: JSON.parse(dataJson) };
}

/** Maps an `events` row, leaving its data as JSON text. */
export function toTextEvent(r: Row): TextFeedEvent {
  return {
    id: num(r.id),
    type: String(r.type),
    dataJson: oneLineJson(String(r.data)),
    createdAt: num(r.created_at),
  };
}

function toLine(r: Row): OrderLine {
  return {
    id: num(r.id),
    menuItemId: numOrNull(r.menu_item_id),
    name: String(r.name),
    quantity: num(r.quantity),
    unitPriceCents: numOrNull(r.unit_price_cents),
    notes: strOrNull(r.notes),
    stockTaken: num(r.stock_taken),
  };
}

/** Maps an `orders` row plus its lines. */
export function toOrder(r: Row, lines: OrderLine[]): Order {
  return {
    id: num(r.id),
    status: String(r.status) as OrderStatus,
    customerName: strOrNull(r.customer_name),
    table: strOrNull(r.table_label),
    notes: strOrNull(r.notes),
    totalCents: num(r.total_cents),
    version: num(r.version),
    source: String(r.source) as OrderSource,
    items: lines,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Loads orders selected by `where` (with their lines) in the given order. */
export async function selectOrders(
  sql: Sql,
  where: string,
  args: (string | number)[],
): Promise<Order[]> {
  const rows = await sql.all(`SELECT * FROM orders ${where}`, args);
  if (rows.length === 0) return [];
  const ids = rows.map((r) => num(r.id));
  const lineRows = await sql.all(
    `SELECT * FROM order_items WHERE order_id IN (${
      ids.map(() => "?").join(",")
    })
     ORDER BY id`,
    ids,
  );
  const byOrder = new Map<number, OrderLine[]>();
  for (const l of lineRows) {
    const list = byOrder.get(num(l.order_id)) ?? [];
    list.push(toLine(l));
    byOrder.set(num(l.order_id), list);
  }
  return rows.map((r) => toOrder(r, byOrder.get(num(r.id)) ?? []));
}

/** Loads one order with its lines. */
export async function selectOrder(sql: Sql, id: number): Promise<Order | null> {
  return (await selectOrders(sql, "WHERE id = ?", [id]))[0] ?? null;
}

/** Loads one menu item. */
export async function selectMenuItem(
  sql: Sql,
  id: number,
): Promise<MenuItem | null> {
  const [row] = await sql.all("SELECT * FROM menu_items WHERE id = ?", [id]);
  return row ? toMenuItem(row) : null;
}
