/**
 * Writes menu items, orders and events into a database at the schema shipped
 * before issue 24 (libSQL migrations 1–2, PostgreSQL 1–3; so opening a store
 * on it applies every migration of the issue, as an upgrade does), the way
 * the code of that time wrote them: the same rows, the same event payloads.
 */
import { createClient } from "@libsql/client";
import postgres from "postgres";
import type { OrderStatus } from "../domain/order_status.ts";
import type { MenuItem, Order } from "../domain/types.ts";
import { menuItemJson, orderJson } from "../domain/wire.ts";
import { LIBSQL_MIGRATIONS, migrate } from "../db/libsql/schema.ts";
import { sqlOf } from "../db/libsql/writer.ts";
import { migratePostgres, POSTGRES_MIGRATIONS } from "../db/postgres/schema.ts";

/** An old-schema database: `?` placeholders on both backends. */
export interface OldDb {
  run(sql: string, args?: unknown[]): Promise<void>;
  /** Runs an INSERT; resolves to the new row's id. */
  insert(sql: string, args?: unknown[]): Promise<number>;
  event(type: string, data: unknown): Promise<void>;
  /** A column value for a time or a boolean, as this backend stores it. */
  time(ms: number): unknown;
  bool(b: boolean): unknown;
  close(): Promise<void>;
}

/** A libSQL file at `url` at the schema shipped before issue 24. */
export async function oldLibsql(url: string): Promise<OldDb> {
  const client = createClient({ url });
  const sql = sqlOf(client);
  await migrate(sql, LIBSQL_MIGRATIONS.filter((m) => m.version <= 2));
  const args = (a: unknown[] = []) => a as (string | number | null)[];
  return {
    run: async (q, a) => void await sql.run(q, args(a)),
    insert: (q, a) => sql.insert(q, args(a)),
    event: async (type, data) =>
      void await sql.run(
        "INSERT INTO events (type, data, created_at) VALUES (?, ?, ?)",
        [type, JSON.stringify(data), Date.now()],
      ),
    time: (ms) => ms,
    bool: (b) => (b ? 1 : 0),
    close: () => Promise.resolve(client.close()),
  };
}

/** The PostgreSQL database at `url` at the schema shipped before issue 24. */
export async function oldPostgres(url: string): Promise<OldDb> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await migratePostgres(sql, POSTGRES_MIGRATIONS.filter((m) => m.version <= 3));
  const numbered = (q: string) => {
    let n = 0;
    return q.replace(/\?/g, () => `$${++n}`);
  };
  // deno-lint-ignore no-explicit-any
  const params = (a: unknown[] = []) => a as any[];
  return {
    run: async (q, a) => void await sql.unsafe(numbered(q), params(a)),
    insert: async (q, a) => {
      const [row] = await sql.unsafe(`${numbered(q)} RETURNING id`, params(a));
      return Number(row!.id);
    },
    event: async (type, data) =>
      void await sql.unsafe(
        "INSERT INTO events (type, data, created_at) VALUES ($1, $2::text::json, now())",
        [type, JSON.stringify(data)],
      ),
    time: (ms) => new Date(ms),
    bool: (b) => b,
    close: () => sql.end({ timeout: 5 }),
  };
}

const AT = Date.UTC(2026, 10, 20, 12);

/** Creates a menu item as the old code did (row and `menu.updated`); `event: false` leaves the log without it. */
export async function oldItem(
  db: OldDb,
  name: string,
  stock: number | null,
  opts: { event?: boolean } = {},
): Promise<MenuItem> {
  const id = await db.insert(
    `INSERT INTO menu_items (name, description, price_cents, category, available,
      stock, created_at, updated_at) VALUES (?, '', 500, 'Mains', ?, ?, ?, ?)`,
    [name, db.bool(true), stock, db.time(AT), db.time(AT)],
  );
  const item: MenuItem = {
    id,
    name,
    description: "",
    priceCents: 500,
    category: "Mains",
    available: true,
    stock,
    createdAt: AT,
    updatedAt: AT,
  };
  if (opts.event !== false) await db.event("menu.updated", menuItemJson(item));
  return item;
}

/** Sets an item's stock as an admin update did (with its event). */
export async function oldSetStock(
  db: OldDb,
  item: MenuItem,
  stock: number | null,
): Promise<void> {
  item.stock = stock;
  item.available = stock !== 0;
  await db.run(
    "UPDATE menu_items SET stock = ?, available = ? WHERE id = ?",
    [stock, db.bool(item.available), item.id],
  );
  await db.event("menu.updated", menuItemJson(item));
}

/** A line of an old order: a menu item, or free text. */
export type OldLine = { item: MenuItem; quantity: number } | {
  name: string;
  quantity: number;
};

/**
 * Places an order as the old code did: takes the stock of tracked items (a
 * sold-out item gets its `menu.updated` first), then the order, its lines and
 * `order.created`; `event: false` leaves the log without it.
 */
export async function oldOrder(
  db: OldDb,
  status: OrderStatus,
  lines: OldLine[],
  opts: { event?: boolean } = {},
): Promise<Order> {
  for (const l of lines) {
    if (!("item" in l) || l.item.stock === null) continue;
    l.item.stock -= l.quantity;
    if (l.item.stock === 0) l.item.available = false;
    await db.run(
      "UPDATE menu_items SET stock = ?, available = ? WHERE id = ?",
      [
        l.item.stock,
        db.bool(l.item.available),
        l.item.id,
      ],
    );
    if (l.item.stock === 0) {
      await db.event("menu.updated", menuItemJson(l.item));
    }
  }
  const total = lines.reduce(
    (n, l) => n + ("item" in l ? 500 * l.quantity : 0),
    0,
  );
  const id = await db.insert(
    `INSERT INTO orders (status, total_cents, version, source, created_at, updated_at)
    VALUES ('pending', ?, 1, 'pos', ?, ?)`,
    [total, db.time(AT), db.time(AT)],
  );
  const order: Order = {
    id,
    status: "pending",
    customerName: null,
    table: null,
    notes: null,
    totalCents: total,
    version: 1,
    source: "pos",
    items: [],
    createdAt: AT,
    updatedAt: AT,
  };
  for (const l of lines) {
    const linked = "item" in l;
    const line = {
      menuItemId: linked ? l.item.id : null,
      name: linked ? l.item.name : l.name,
      quantity: l.quantity,
      unitPriceCents: linked ? 500 : null,
      notes: null,
    };
    const lineId = await db.insert(
      `INSERT INTO order_items (order_id, menu_item_id, name, quantity, unit_price_cents)
      VALUES (?, ?, ?, ?, ?)`,
      [id, line.menuItemId, line.name, line.quantity, line.unitPriceCents],
    );
    order.items.push({ ...line, id: lineId, stockTaken: 0 });
  }
  if (opts.event !== false) await db.event("order.created", orderJson(order));
  if (status !== "pending") {
    Object.assign(order, { status, version: 2 });
    await db.run("UPDATE orders SET status = ?, version = 2 WHERE id = ?", [
      status,
      id,
    ]);
    await db.event("order.updated", orderJson(order));
  }
  return order;
}
