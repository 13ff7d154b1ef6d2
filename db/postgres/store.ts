/**
 * The PostgreSQL Store: a pool of 10–20 connections, one transaction per
 * write, and a dedicated LISTEN connection that fans events out across
 * instances sharing one database.
 */
import type { LeaseTimes } from "../../domain/vending.ts";
import { PostgresVending } from "./vending.ts";
import type { VendingStore } from "../vending_store.ts";
import type { Sql } from "postgres";
import {
  ConflictError,
  NotFoundError,
  UnavailableError,
} from "../../domain/errors.ts";
import { deltaRefused, inventoryAfter, isLow } from "../../domain/inventory.ts";
import {
  checkInventoryNumbers,
  checkMenuNumbers,
} from "../../domain/bounds.ts";
import { nameKey, renamedKey } from "../../domain/name_key.ts";
import type {
  FeedEvent,
  InventoryChange,
  InventoryInput,
  InventoryItem,
  MenuItem,
  MenuItemInput,
  MenuItemPatch,
  NewOrder,
  Order,
  OrderQuery,
  Placed,
} from "../../domain/types.ts";
import { inventoryJson, menuItemJson, renderOrder } from "../../domain/wire.ts";
import { PgEventFanout } from "./listen.ts";
import { OrderBatcher } from "./batch.ts";
import { placeOrderTx, updateOrderStatus } from "./orders.ts";
import {
  selectMenuItem,
  selectOrder,
  selectOrders,
  toEvent,
  toInventoryItem,
  toMenuItem,
} from "./rows.ts";
import { EventWatermark } from "./watermark.ts";
import { migratePostgres } from "./schema.ts";
import {
  createPool,
  isUniqueViolation,
  type PgPoolOptions,
  pgRead,
} from "./pool.ts";
import { type PgTx, runTransaction } from "./tx.ts";
import type { MenuQuery, PlaceOptions, Store } from "../store.ts";

export type { PgTx } from "./tx.ts";
export { claimKey, idempotent, storeOutcome } from "./idempotency.ts";
export { EVENTS_CHANNEL } from "./listen.ts";

/** Options of a PostgreSQL store. */
export type PostgresOptions = PgPoolOptions & {
  /** In a rush, the least time between the starts of order batches (`GroupPacer`). */
  groupIntervalMs?: number;
};

/** Postgres.js reconnects an ended pool on demand: a closed store refuses work itself. */
const shuttingDown = () =>
  new UnavailableError("The server is shutting down", 1);

function duplicateName(kind: string, name: string): ConflictError {
  return new ConflictError(
    "duplicate_name",
    `${kind} "${name}" already exists`,
    { name },
  );
}

/** Opens a pool on `url`, applies migrations and starts listening for other instances' events. */
export async function openPostgresStore(
  url: string,
  opts: PostgresOptions = {},
): Promise<PostgresStore> {
  const sql = createPool(url, opts);
  try {
    await pgRead(() => migratePostgres(sql));
    const store = new PostgresStore(sql, opts);
    await store.fanout.start();
    return store;
  } catch (e) {
    await sql.end({ timeout: 1 });
    throw e;
  }
}

/** Store on PostgreSQL. Other `db/postgres_*.ts` modules build on `sql`, `transaction` and `read`. */
export class PostgresStore implements Store {
  readonly backend = "postgres" as const;
  /** Local commits and other instances' NOTIFYs reach `onEvents` listeners through this. */
  readonly fanout: PgEventFanout;
  /** The highest event id below which nothing is still in flight. */
  readonly watermark: EventWatermark;
  #orders: OrderBatcher;
  #closed = false;

  /**
   * @param sql the pool (from `createPool`), owned and ended by this store
   * @param opts order batch pacing
   */
  constructor(
    readonly sql: Sql,
    opts: Pick<PostgresOptions, "groupIntervalMs"> = {},
  ) {
    this.fanout = new PgEventFanout(sql);
    this.watermark = new EventWatermark(sql);
    this.#orders = new OrderBatcher(sql, {
      groupIntervalMs: opts.groupIntervalMs,
      onEvents: () => this.fanout.committed(),
      single: (job) =>
        this.transaction((tx) =>
          placeOrderTx(tx, job.input, { ...job, pool: this.sql })
        ),
    });
  }

  /**
   * Runs `fn` in one transaction: `tx.sql` for queries, `tx.event(type, data)`
   * to append to the event log (inserted with COMMIT, then NOTIFY to the other
   * instances), `tx.defer(query)` to send a statement with COMMIT. Retries
   * deadlocks; driver errors become domain errors (503 when the database is
   * unreachable, 409 for constraint violations).
   */
  transaction<T>(fn: (tx: PgTx) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(shuttingDown());
    return runTransaction(this.sql, fn, {
      onEvents: () => this.fanout.committed(),
    });
  }

  /** Runs a read on the pool, translating driver errors. */
  read<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(shuttingDown());
    return pgRead(() => fn(this.sql));
  }

  async ping(): Promise<number> {
    const t = performance.now();
    await this.read((sql) => sql`SELECT 1`);
    return performance.now() - t;
  }

  listMenu(q: MenuQuery = {}): Promise<MenuItem[]> {
    return this.read(async (sql) => {
      const rows = await sql`
        SELECT * FROM menu_items WHERE true
        ${
        q.category !== undefined
          ? sql`AND lower(category) = lower(${q.category})`
          : sql``
      }
        ${
        q.available !== undefined ? sql`AND available = ${q.available}` : sql``
      }
        ORDER BY category COLLATE "C", lower(name) COLLATE "C", id`;
      return rows.map(toMenuItem);
    });
  }

  getMenuItem(id: number): Promise<MenuItem | null> {
    return this.read((sql) => selectMenuItem(sql, id));
  }

  createMenuItem(input: MenuItemInput): Promise<MenuItem> {
    const key = nameKey(input.name);
    return this.transaction(async (tx) => {
      checkMenuNumbers(input);
      try {
        const [row] = await tx.sql`
          INSERT INTO menu_items (name, name_key, description, price_cents, category,
            available, stock, created_at, updated_at)
          VALUES (${input.name}, ${key}, ${input.description}, ${input.priceCents},
            ${input.category}, ${input.available}, ${input.stock}, ${tx.now}, ${tx.now})
          RETURNING *`;
        const item = toMenuItem(row!);
        tx.event("menu.updated", menuItemJson(item));
        return item;
      } catch (e) {
        if (isUniqueViolation(e)) throw duplicateName("Menu item", input.name);
        throw e;
      }
    });
  }

  updateMenuItem(id: number, patch: MenuItemPatch): Promise<MenuItem> {
    return this.transaction(async (tx) => {
      checkMenuNumbers(patch);
      const [old] = await tx.sql`
        SELECT * FROM menu_items WHERE id = ${id} FOR UPDATE`;
      if (!old) {
        throw new NotFoundError(
          "menu_item_not_found",
          `Menu item "${id}" does not exist`,
        );
      }
      const next = { ...toMenuItem(old), ...patch };
      const key = renamedKey(String(old.name), next.name);
      try {
        const [row] = await tx.sql`
          UPDATE menu_items SET name = ${next.name},
            name_key = COALESCE(${key}::text, name_key), description = ${next.description},
            price_cents = ${next.priceCents}, category = ${next.category},
            available = ${next.available}, stock = ${next.stock}, updated_at = ${tx.now}
          WHERE id = ${id} RETURNING *`;
        const item = toMenuItem(row!);
        tx.event("menu.updated", menuItemJson(item));
        return item;
      } catch (e) {
        if (isUniqueViolation(e)) throw duplicateName("Menu item", next.name);
        throw e;
      }
    });
  }

  /** Orders placed concurrently share one transaction (see `batch.ts`). */
  placeOrder(input: NewOrder, opts: PlaceOptions = {}): Promise<Placed> {
    if (this.#closed) return Promise.reject(shuttingDown());
    return this.#orders.place({
      input,
      idempotency: opts.idempotency ?? null,
      status: opts.status ?? 200,
      render: (order, native) => renderOrder(order, opts.view, native),
    });
  }

  getOrder(id: number): Promise<Order | null> {
    return this.read((sql) => selectOrder(sql, id));
  }

  listOrders(q: OrderQuery): Promise<Order[]> {
    return this.read((sql) =>
      selectOrders(
        sql,
        sql`true ${
          q.statuses?.length
            ? sql`AND status = ANY(${q.statuses}::text[])`
            : sql``
        } ${q.before !== undefined ? sql`AND id < ${q.before}` : sql``}`,
        sql`ORDER BY id DESC LIMIT ${q.limit}`,
      )
    );
  }

  listActiveOrders(): Promise<Order[]> {
    return this.read((sql) =>
      selectOrders(
        sql,
        sql`status IN ('pending', 'in_progress', 'ready')`,
        sql`ORDER BY id`,
      )
    );
  }

  setOrderStatus(
    id: number,
    status: Order["status"],
    opts: { ifVersion?: number } = {},
  ): Promise<Order> {
    return this.transaction((tx) =>
      updateOrderStatus(tx, id, status, opts.ifVersion)
    );
  }

  listInventory(): Promise<InventoryItem[]> {
    return this.read(async (sql) =>
      (await sql`SELECT * FROM inventory_items ORDER BY lower(name) COLLATE "C", id`)
        .map(toInventoryItem)
    );
  }

  createInventoryItem(input: InventoryInput): Promise<InventoryItem> {
    const key = nameKey(input.name);
    return this.transaction(async (tx) => {
      checkInventoryNumbers(input);
      try {
        const [row] = await tx.sql`
          INSERT INTO inventory_items (name, name_key, quantity, unit, low_threshold, created_at,
            updated_at)
          VALUES (${input.name}, ${key}, ${input.quantity}, ${input.unit},
            ${input.lowThreshold}, ${tx.now}, ${tx.now})
          RETURNING *`;
        const item = toInventoryItem(row!);
        tx.event("inventory.updated", inventoryJson(item));
        if (isLow(item)) tx.event("inventory.low", inventoryJson(item));
        return item;
      } catch (e) {
        if (isUniqueViolation(e)) {
          throw duplicateName("Inventory item", input.name);
        }
        throw e;
      }
    });
  }

  changeInventory(id: number, change: InventoryChange): Promise<InventoryItem> {
    return this.transaction(async (tx) => {
      const [row] = await tx.sql`
        SELECT * FROM inventory_items WHERE id = ${id} FOR UPDATE`;
      if (!row) {
        throw new NotFoundError(
          "inventory_item_not_found",
          `Inventory item "${id}" does not exist`,
        );
      }
      const before = toInventoryItem(row);
      const next = inventoryAfter(before, change);
      // A delta is applied and bounded in the UPDATE itself (see `deltaWindow`).
      const [updated] = next.delta === null
        ? await tx.sql`
          UPDATE inventory_items SET quantity = ${next.quantity},
            low_threshold = ${next.lowThreshold}, updated_at = ${tx.now}
          WHERE id = ${id} RETURNING *`
        : await tx.sql`
          UPDATE inventory_items SET quantity = quantity + ${next.delta},
            low_threshold = ${next.lowThreshold}, updated_at = ${tx.now}
          WHERE id = ${id}
            AND quantity BETWEEN ${next.window.min} AND ${next.window.max}
          RETURNING *`;
      if (!updated) throw deltaRefused(before, next.delta ?? 0);
      const item = toInventoryItem(updated);
      tx.event("inventory.updated", inventoryJson(item));
      if (isLow(item) && !isLow(before)) {
        tx.event("inventory.low", inventoryJson(item));
      }
      return item;
    });
  }

  /** Events up to the watermark only: an id still in flight below a visible one would be skipped. */
  listEvents(after: number, limit = 1000): Promise<FeedEvent[]> {
    return this.read(async (sql) => {
      const upTo = await this.watermark.fresh();
      return (await sql`
        SELECT id, type, data::text AS data_json, created_at FROM events
        WHERE id > ${after} AND id <= ${upTo}
        ORDER BY id LIMIT ${limit}`).map(toEvent);
    });
  }

  lastEventId(): Promise<number> {
    return this.read(async (sql) => {
      const upTo = await this.watermark.fresh();
      const [row] = await sql`
        SELECT COALESCE(MAX(id), 0) AS id FROM events WHERE id <= ${upTo}`;
      return Number(row?.id ?? 0);
    });
  }

  onEvents(listener: () => void): () => void {
    return this.fanout.add(listener);
  }

  purgeIdempotencyKeys(maxAgeMs: number): Promise<number> {
    return this.transaction(async (tx) => {
      const res = await tx.sql`
        DELETE FROM idempotency_keys
        WHERE created_at < ${new Date(tx.now.getTime() - maxAgeMs)}`;
      return res.count;
    });
  }

  /** Empties every table but `schema_migrations` and restarts every identity. */
  wipe(): Promise<void> {
    return this.transaction(async (tx) => {
      const tables = await tx.sql`
        SELECT tablename FROM pg_tables
        WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'`;
      if (tables.length === 0) return;
      await tx.sql`TRUNCATE ${
        tx.sql(tables.map((t) => t.tablename as string))
      } RESTART IDENTITY CASCADE`;
    });
  }

  /** Refuses new work, lets queued orders commit, then ends the pool. */
  /** The vending orchestrator on this store's connections. */
  vending(times: LeaseTimes): VendingStore {
    return new PostgresVending(this, times);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#orders.close();
    await this.fanout.stop();
    await this.sql.end({ timeout: 5 });
  }
}
