/** The libSQL Store: one group-commit writer connection, one reader connection. */
import type { LeaseTimes } from "../../domain/vending.ts";
import { LibsqlVending } from "./vending.ts";
import type { VendingStore } from "../vending_store.ts";
import { createClient, type InArgs } from "@libsql/client";
import { openNative } from "./native.ts";
import {
  ConflictError,
  NotFoundError,
  UnavailableError,
} from "../../domain/errors.ts";
import { type OrderJob, takeBatch } from "../../domain/order_batch.ts";
import { placeOrderBatch } from "./order_batch.ts";
import { GroupPacer } from "../group_pacer.ts";
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
import { idempotent } from "./idempotency.ts";
import { insertOrder, updateOrderStatus } from "./orders.ts";
import {
  selectMenuItem,
  selectOrder,
  selectOrders,
  toEvent,
  toInventoryItem,
  toMenuItem,
  toTextEvent,
} from "./rows.ts";
import { migrate } from "./schema.ts";
import { translateLibsqlError } from "./errors.ts";
import type { TextFeedEvent } from "../../domain/text_event.ts";
import { GroupWriter, sessionOf, type Sql, type WriteTx } from "./writer.ts";
import type { MenuQuery, PlaceOptions, Store } from "../store.ts";
import { deltaRefused, inventoryAfter, isLow } from "../../domain/inventory.ts";
import {
  checkInventoryNumbers,
  checkMenuNumbers,
} from "../../domain/bounds.ts";
import { nameKey, renamedKey } from "../../domain/name_key.ts";

/** Options of a libSQL store. */
export interface LibsqlOptions {
  authToken?: string;
  /** Most jobs per group commit. */
  maxBatch?: number;
  /** In a rush, the least time between the starts of order groups (`GroupPacer`). */
  groupIntervalMs?: number;
}

/**
 * Default `groupIntervalMs`. At `--rate 6000` against no pacing, alternated:
 * 4 ms took the server from about 185 to 160–167 µs of CPU an order and the
 * machine from 76 % to 65–68 % busy; 6 ms to 155–158 µs and 62–64 %, with the
 * median order about 4 ms slower.
 */
export const LIBSQL_GROUP_INTERVAL_MS = 5;

const isUnique = (e: unknown) =>
  /UNIQUE constraint failed/i.test(String((e as Error)?.message));

function duplicateName(kind: string, name: string): ConflictError {
  return new ConflictError(
    "duplicate_name",
    `${kind} "${name}" already exists`,
    { name },
  );
}

/** One libSQL connection as `Sql`, and how to close it. */
export interface Connection {
  sql: Sql;
  close(): void;
}

function connect(url: string, authToken?: string): Connection {
  if (url.startsWith("file:")) return openNative(url.slice("file:".length));
  const client = createClient({ url, authToken });
  // Remote: a stateless client, so transactions need an explicit session.
  return { sql: sessionOf(client), close: () => client.close() };
}

/** Opens (and migrates) a libSQL database: `file:` natively, other URLs through the client. */
export async function openLibsqlStore(
  url: string,
  opts: LibsqlOptions = {},
): Promise<LibsqlStore> {
  if (url.startsWith("file:")) {
    const path = url.slice("file:".length);
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  const writer = connect(url, opts.authToken);
  // A remote server owns its journal and durability settings.
  const pragmas = url.startsWith("file:")
    ? [
      "journal_mode = WAL",
      "synchronous = FULL",
      "foreign_keys = ON",
      "busy_timeout = 0",
    ]
    : [];
  for (const p of pragmas) await writer.sql.all(`PRAGMA ${p}`);
  await migrate(writer.sql);
  const reader = connect(url, opts.authToken);
  return new LibsqlStore(writer, reader, opts);
}

/** Store on an embedded libSQL file. */
export class LibsqlStore implements Store {
  readonly backend = "libsql" as const;
  #writer: GroupWriter;
  #read: Sql;
  #listeners = new Set<() => void>();
  #closed = false;
  #orders: OrderJob[] = [];
  #ordersQueued = false;
  #pacer: GroupPacer;
  /** A paced order group until it is handed to the writer. */
  #paced: Promise<void> | null = null;
  #maxOrders: number;

  /**
   * @param writer the only connection that writes
   * @param reader the connection every read uses
   * @param opts batch size
   */
  constructor(
    readonly writer: Connection,
    readonly reader: Connection,
    opts: LibsqlOptions = {},
  ) {
    this.#writer = new GroupWriter(writer.sql, {
      maxBatch: opts.maxBatch,
      onEvents: () => this.#listeners.forEach((l) => l()),
    });
    this.#read = reader.sql;
    this.#maxOrders = opts.maxBatch ?? 512;
    this.#pacer = new GroupPacer(
      opts.groupIntervalMs ?? LIBSQL_GROUP_INTERVAL_MS,
    );
  }

  /** Runs `fn` as one job of the group-commit writer; driver errors become domain errors. */
  write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    return this.#writer.run(fn).catch((e) => {
      throw translateLibsqlError(e);
    });
  }

  /** Runs a read on the reader connection. */
  read(sql: string, args?: InArgs) {
    return this.#read.all(sql, args);
  }

  async ping(): Promise<number> {
    const t = performance.now();
    await this.#read.all("SELECT 1");
    return performance.now() - t;
  }

  async listMenu(q: MenuQuery = {}): Promise<MenuItem[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.category !== undefined) {
      where.push("category = ? COLLATE NOCASE");
      args.push(q.category);
    }
    if (q.available !== undefined) {
      where.push("available = ?");
      args.push(q.available ? 1 : 0);
    }
    const rows = await this.#read.all(
      `SELECT * FROM menu_items ${
        where.length ? `WHERE ${where.join(" AND ")}` : ""
      }
       ORDER BY category, name`,
      args,
    );
    return rows.map(toMenuItem);
  }

  getMenuItem(id: number): Promise<MenuItem | null> {
    return selectMenuItem(this.#read, id);
  }

  createMenuItem(input: MenuItemInput): Promise<MenuItem> {
    return this.write(async (tx) => {
      checkMenuNumbers(input);
      try {
        const [row] = await tx.all(
          `INSERT INTO menu_items (name, name_key, description, price_cents, category, available,
             stock, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          [
            input.name,
            nameKey(input.name),
            input.description,
            input.priceCents,
            input.category,
            input.available ? 1 : 0,
            input.stock,
            tx.now,
            tx.now,
          ],
        );
        const item = toMenuItem(row!);
        await tx.event("menu.updated", menuItemJson(item));
        return item;
      } catch (e) {
        if (isUnique(e)) throw duplicateName("Menu item", input.name);
        throw e;
      }
    });
  }

  updateMenuItem(id: number, patch: MenuItemPatch): Promise<MenuItem> {
    return this.write(async (tx) => {
      checkMenuNumbers(patch);
      const old = await selectMenuItem(tx, id);
      if (!old) {
        throw new NotFoundError(
          "menu_item_not_found",
          `Menu item "${id}" does not exist`,
        );
      }
      const next = { ...old, ...patch };
      try {
        const [row] = await tx.all(
          `UPDATE menu_items SET name = ?, name_key = COALESCE(?, name_key), description = ?,
             price_cents = ?, category = ?, available = ?, stock = ?, updated_at = ?
           WHERE id = ? RETURNING *`,
          [
            next.name,
            renamedKey(old.name, next.name),
            next.description,
            next.priceCents,
            next.category,
            next.available ? 1 : 0,
            next.stock,
            tx.now,
            id,
          ],
        );
        const item = toMenuItem(row!);
        await tx.event("menu.updated", menuItemJson(item));
        return item;
      } catch (e) {
        if (isUnique(e)) throw duplicateName("Menu item", next.name);
        throw e;
      }
    });
  }

  /** Orders placed concurrently share one writer job (see `order_batch.ts`). */
  placeOrder(input: NewOrder, opts: PlaceOptions = {}): Promise<Placed> {
    if (this.#closed) {
      return Promise.reject(
        new UnavailableError("The server is shutting down"),
      );
    }
    return new Promise((resolve, reject) => {
      this.#orders.push({
        input,
        idempotency: opts.idempotency ?? null,
        status: opts.status ?? 200,
        render: (order) => renderOrder(order, opts.view),
        resolve,
        reject,
      });
      if (!this.#ordersQueued) this.#queueOrders();
    });
  }

  /** Queues one writer job for the orders waiting when it starts, paced in a rush. */
  #queueOrders(): void {
    this.#ordersQueued = true;
    if (this.#pacer.delay() === 0) return this.#writeOrders();
    this.#paced = this.#pacer.wait().then(() => {
      this.#paced = null;
      this.#writeOrders();
    });
  }

  /** One writer job that places the orders waiting when it starts. */
  #writeOrders(): void {
    let batch: OrderJob[] | null = null;
    let settle = () => {};
    let refused = false;
    this.write(async (tx) => {
      const next = takeBatch(this.#orders, this.#maxOrders);
      this.#pacer.started(next.batch.length);
      batch = next.batch;
      this.#orders = next.rest;
      this.#ordersQueued = false;
      if (next.rest.length > 0) this.#queueOrders();
      try {
        settle = await placeOrderBatch(tx, batch);
      } catch (e) {
        refused = true;
        throw e;
      }
    }).then(() => settle(), (e) => this.#ordersFailed(batch, refused, e));
  }

  /**
   * A group the database refused is placed again one order at a time, so one
   * bad order cannot fail the others; a failed COMMIT fails them all.
   */
  #ordersFailed(batch: OrderJob[] | null, refused: boolean, e: unknown) {
    if (batch === null) {
      // The writer refused the job before it ran (shutting down).
      batch = this.#orders;
      this.#orders = [];
      this.#ordersQueued = false;
    }
    if (!refused) {
      for (const job of batch) job.reject(e);
      return;
    }
    console.error(JSON.stringify({
      level: "warn",
      msg: "order group failed; placing its orders one by one",
      error: String(e),
    }));
    for (const job of batch) this.#placeOne(job).then(job.resolve, job.reject);
  }

  /** One order in its own writer job. */
  async #placeOne(job: OrderJob): Promise<Placed> {
    const out = await this.write((tx) =>
      idempotent(tx, job.idempotency, async () => {
        const order = await insertOrder(tx, job.input);
        return {
          status: job.status,
          body: job.render(order),
          resourceId: order.id,
        };
      })
    );
    return {
      orderId: out.resourceId,
      status: out.status,
      body: out.body,
      replayed: out.replayed,
    };
  }

  getOrder(id: number): Promise<Order | null> {
    return selectOrder(this.#read, id);
  }

  listOrders(q: OrderQuery): Promise<Order[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.statuses?.length) {
      where.push(`status IN (${q.statuses.map(() => "?").join(",")})`);
      args.push(...q.statuses);
    }
    if (q.before !== undefined) {
      where.push("id < ?");
      args.push(q.before);
    }
    return selectOrders(
      this.#read,
      `${
        where.length ? `WHERE ${where.join(" AND ")}` : ""
      } ORDER BY id DESC LIMIT ?`,
      [...args, q.limit],
    );
  }

  listActiveOrders(): Promise<Order[]> {
    return selectOrders(
      this.#read,
      "WHERE status IN ('pending', 'in_progress', 'ready') ORDER BY id",
      [],
    );
  }

  setOrderStatus(
    id: number,
    status: Order["status"],
    opts: { ifVersion?: number } = {},
  ): Promise<Order> {
    return this.write((tx) =>
      updateOrderStatus(tx, id, status, opts.ifVersion)
    );
  }

  async listInventory(): Promise<InventoryItem[]> {
    return (await this.#read.all("SELECT * FROM inventory_items ORDER BY name"))
      .map(
        toInventoryItem,
      );
  }

  createInventoryItem(input: InventoryInput): Promise<InventoryItem> {
    return this.write(async (tx) => {
      checkInventoryNumbers(input);
      try {
        const [row] = await tx.all(
          `INSERT INTO inventory_items (name, name_key, quantity, unit, low_threshold, created_at,
             updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          [
            input.name,
            nameKey(input.name),
            input.quantity,
            input.unit,
            input.lowThreshold,
            tx.now,
            tx.now,
          ],
        );
        const item = toInventoryItem(row!);
        await tx.event("inventory.updated", inventoryJson(item));
        if (isLow(item)) await tx.event("inventory.low", inventoryJson(item));
        return item;
      } catch (e) {
        if (isUnique(e)) throw duplicateName("Inventory item", input.name);
        throw e;
      }
    });
  }

  changeInventory(id: number, change: InventoryChange): Promise<InventoryItem> {
    return this.write(async (tx) => {
      const [row] = await tx.all("SELECT * FROM inventory_items WHERE id = ?", [
        id,
      ]);
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
        ? await tx.all(
          `UPDATE inventory_items SET quantity = ?, low_threshold = ?, updated_at = ?
           WHERE id = ? RETURNING *`,
          [next.quantity, next.lowThreshold, tx.now, id],
        )
        : await tx.all(
          `UPDATE inventory_items SET quantity = quantity + ?, low_threshold = ?,
             updated_at = ?
           WHERE id = ? AND quantity BETWEEN ? AND ? RETURNING *`,
          [
            next.delta,
            next.lowThreshold,
            tx.now,
            id,
            next.window.min,
            next.window.max,
          ],
        );
      if (!updated) throw deltaRefused(before, next.delta ?? 0);
      const item = toInventoryItem(updated);
      await tx.event("inventory.updated", inventoryJson(item));
      if (isLow(item) && !isLow(before)) {
        await tx.event("inventory.low", inventoryJson(item));
      }
      return item;
    });
  }

  async listEvents(after: number, limit = 1000): Promise<FeedEvent[]> {
    return (await this.#eventRows(after, limit)).map(toEvent);
  }

  /** `listEvents` with each event's data as JSON text (the database thread sends these). */
  async listEventsText(
    after: number,
    limit = 1000,
  ): Promise<TextFeedEvent[]> {
    return (await this.#eventRows(after, limit)).map(toTextEvent);
  }

  #eventRows(after: number, limit: number) {
    return this.#read.all(
      "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?",
      [after, limit],
    );
  }

  async lastEventId(): Promise<number> {
    const [row] = await this.#read.all(
      "SELECT COALESCE(MAX(id), 0) AS id FROM events",
    );
    return Number(row?.id ?? 0);
  }

  onEvents(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  purgeIdempotencyKeys(maxAgeMs: number): Promise<number> {
    return this.write((tx) =>
      tx.run("DELETE FROM idempotency_keys WHERE created_at < ?", [
        tx.now - maxAgeMs,
      ])
    );
  }

  wipe(): Promise<void> {
    return this.write(async (tx) => {
      const tables = await tx.all(
        `SELECT name FROM sqlite_master WHERE type = 'table'
         AND name NOT IN ('schema_migrations', 'sqlite_sequence') AND name NOT LIKE 'sqlite_%'`,
      );
      await tx.run("PRAGMA defer_foreign_keys = ON");
      for (const t of tables) await tx.run(`DELETE FROM "${String(t.name)}"`);
      await tx.run("DELETE FROM sqlite_sequence");
    });
  }

  /** The vending orchestrator on this store's connections. */
  vending(times: LeaseTimes): VendingStore {
    return new LibsqlVending(this, times);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A held group goes to the writer now, before it stops taking jobs.
    this.#pacer.stop();
    await this.#paced;
    await this.#writer.close();
    this.writer.close();
    this.reader.close();
  }
}
