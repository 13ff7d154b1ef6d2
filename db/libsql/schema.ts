/** libSQL migrations, applied in order at start; each runs once. */
import {
  backfillLibsqlNameKeys,
  type NameKeyTable,
} from "../name_key_backfill.ts";
import type { Sql } from "./writer.ts";

/**
 * A numbered list of steps: SQL statements, or functions for what SQL cannot
 * do (such as computing `nameKey`), run in order in the same transaction.
 */
export interface Migration {
  version: number;
  name: string;
  statements: (string | ((sql: Sql) => Promise<void>))[];
}

/** The tables migration 3 gives a `name_key` (spelled out: a shipped migration never changes). */
const NAME_KEY_TABLES: NameKeyTable[] = [
  "menu_items",
  "inventory_items",
  "vending_products",
];

/** Every libSQL migration, oldest first. Append; never edit a shipped one. */
export const LIBSQL_MIGRATIONS: Migration[] = [{
  version: 1,
  name: "core",
  statements: [
    `CREATE TABLE menu_items (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL COLLATE NOCASE UNIQUE,
      description TEXT NOT NULL DEFAULT '',
      price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
      category TEXT NOT NULL,
      available INTEGER NOT NULL DEFAULT 1,
      stock INTEGER CHECK (stock IS NULL OR stock >= 0),
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL)`,
    `CREATE TABLE orders (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      status TEXT NOT NULL,
      customer_name TEXT,
      table_label TEXT,
      notes TEXT,
      total_cents INTEGER NOT NULL,
      version INTEGER NOT NULL DEFAULT 1,
      source TEXT NOT NULL DEFAULT 'pos',
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL)`,
    `CREATE INDEX orders_status_id ON orders (status, id)`,
    `CREATE TABLE order_items (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
      menu_item_id INTEGER REFERENCES menu_items (id),
      name TEXT NOT NULL,
      quantity INTEGER NOT NULL CHECK (quantity > 0),
      unit_price_cents INTEGER,
      notes TEXT)`,
    `CREATE INDEX order_items_order ON order_items (order_id)`,
    `CREATE TABLE inventory_items (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL COLLATE NOCASE UNIQUE,
      quantity INTEGER NOT NULL CHECK (quantity >= 0),
      unit TEXT NOT NULL,
      low_threshold INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL)`,
    `CREATE TABLE events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      created_at INTEGER NOT NULL)`,
    `CREATE TABLE idempotency_keys (
      scope TEXT NOT NULL,
      key TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      status INTEGER NOT NULL,
      body TEXT NOT NULL,
      resource_id INTEGER,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (scope, key))`,
    `CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)`,
  ],
}, {
  version: 2,
  name: "vending",
  statements: [
    // busy_until / claimed_at (epoch ms) are leases: a passed one means idle.
    `CREATE TABLE vending_machines (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL,
      status TEXT NOT NULL DEFAULT 'idle'
        CHECK (status IN ('idle', 'choose_product', 'processing')),
      usage_count INTEGER NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
      busy_until INTEGER,
      claimed_at INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      CHECK (status <> 'processing' OR busy_until IS NOT NULL),
      CHECK (status <> 'choose_product' OR claimed_at IS NOT NULL))`,
    `CREATE INDEX vending_machines_status ON vending_machines (status, usage_count, id)`,
    `CREATE TABLE vending_products (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL COLLATE NOCASE UNIQUE,
      stock INTEGER NOT NULL CHECK (stock >= 0),
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL)`,
  ],
}, {
  version: 3,
  name: "name_keys",
  // Names are unique and matched by `nameKey` (SQLite folds ASCII only). The
  // column stays nullable: SQLite adds NOT NULL only with a default, and a
  // rebuild of menu_items would fight order_items' foreign key inside this
  // transaction. Every write sets it. The old NOCASE constraint on `name`
  // stays too (a rebuild again); two names equal under it share a key anyway.
  statements: NAME_KEY_TABLES.flatMap((table) => [
    `ALTER TABLE ${table} ADD COLUMN name_key TEXT`,
    (sql: Sql) => backfillLibsqlNameKeys(sql, table),
    `CREATE UNIQUE INDEX ${table}_name_key ON ${table} (name_key)`,
  ]),
}, {
  version: 4,
  name: "order_items_stock_taken",
  statements: [
    `ALTER TABLE order_items ADD COLUMN stock_taken INTEGER NOT NULL DEFAULT 0
      CHECK (stock_taken BETWEEN 0 AND quantity)`,
    // An old line took stock if its item was tracked when the order was
    // placed: the item's last menu.updated event (every create and update
    // writes one) before the order's order.created event shows it. Without
    // such an event it counts as having taken nothing. Only orders that can
    // still be cancelled matter; finished ones keep 0. The last menu event
    // before each line is a running MAX over the item's events in id order:
    // one sort, where a lookup per line was lines × menu events (7 s for
    // 10,000 open lines and 20,000 menu events).
    `WITH placed AS MATERIALIZED (
      SELECT e.id AS at, o.id AS order_id
      FROM events e JOIN orders o ON o.id = e.data ->> '$.id'
      WHERE e.type = 'order.created'
        AND o.status IN ('pending', 'in_progress', 'ready')
    ), history AS (
      SELECT id AS at, data ->> '$.id' AS item_id, id AS menu_at, NULL AS line_id
      FROM events WHERE type = 'menu.updated'
      UNION ALL
      SELECT p.at, l.menu_item_id, NULL, l.id
      FROM placed p JOIN order_items l ON l.order_id = p.order_id
      WHERE l.menu_item_id IS NOT NULL
    ), seen AS (
      SELECT line_id, MAX(menu_at) OVER (PARTITION BY item_id ORDER BY at) AS menu_at
      FROM history
    )
    UPDATE order_items SET stock_taken = quantity
    WHERE id IN (
      SELECT s.line_id FROM seen s JOIN events m ON m.id = s.menu_at
      WHERE s.line_id IS NOT NULL AND m.data ->> '$.stock' IS NOT NULL)`,
  ],
}];

/** Applies every migration not yet recorded, each in its own transaction. */
export async function migrate(
  sql: Sql,
  migrations = LIBSQL_MIGRATIONS,
): Promise<number[]> {
  await sql.run(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
  );
  const done = new Set(
    (await sql.all("SELECT version FROM schema_migrations")).map((r) =>
      Number(r.version)
    ),
  );
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    await sql.run("BEGIN IMMEDIATE");
    try {
      for (const s of m.statements) {
        await (typeof s === "string" ? sql.run(s) : s(sql));
      }
      await sql.run(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        [m.version, m.name, Date.now()],
      );
      await sql.run("COMMIT");
    } catch (e) {
      await sql.run("ROLLBACK").catch(() => {});
      throw e;
    }
    applied.push(m.version);
  }
  return applied;
}
