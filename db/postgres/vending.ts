/**
 * The vending orchestrator on PostgreSQL. A claim picks the least-used idle
 * machine with `FOR UPDATE SKIP LOCKED` (a plain subselect handed one machine
 * to two callers in a prototype), so concurrent claims never wait on each
 * other and never share a machine. A purchase locks the machine row, then
 * takes stock with a conditional UPDATE; `CHECK (stock >= 0)` is the last
 * line of defence. Lease times are the application's clock, as on libSQL.
 */
import type { Row } from "postgres";
import type { IdemKey } from "../../domain/idempotency.ts";
import { nameKey } from "../../domain/name_key.ts";
import {
  type ChooseInput,
  type LeaseTimes,
  machineJson,
  type MachineRecord,
  type MachineStatus,
  type Product,
  productJson,
  purchaseJson,
  resetOf,
  settle,
} from "../../domain/vending.ts";
import {
  alreadyIdle,
  checkCoins,
  duplicateProduct,
  FieldErrors,
  insufficientStock,
  invalidSelection,
  isRowId,
  MAX_INT,
  modelNotFound,
  notChoosing,
  requireFields,
  STOCK_RULES,
} from "../../domain/vending_rules.ts";
// Type-only imports of the store: a libSQL deployment never loads the driver.
import { idempotent } from "./idempotency.ts";
import type { PgTx, PostgresStore } from "./store.ts";
import { MachineQueue } from "../vending_waiters.ts";
import type {
  PurchaseResult,
  StartWorkOptions,
  VendingStore,
} from "../vending_store.ts";

/** SQLSTATE 23505: the product name index refused a duplicate. */
const isUniqueViolation = (e: unknown) =>
  (e as { code?: unknown })?.code === "23505";
const ms = (v: unknown) => (v as Date).getTime();
const msOrNull = (v: unknown) => (v === null || v === undefined ? null : ms(v));
const dateOrNull = (v: number | null) => (v === null ? null : new Date(v));

/** Maps a `vending_machines` row (as stored, leases not applied). */
export function toMachine(r: Row): MachineRecord {
  return {
    id: Number(r.id),
    name: String(r.name),
    status: String(r.status) as MachineStatus,
    usageCount: Number(r.usage_count),
    busyUntil: msOrNull(r.busy_until),
    claimedAt: msOrNull(r.claimed_at),
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
  };
}

/** Maps a `vending_products` row. */
export function toProduct(r: Row): Product {
  return {
    id: Number(r.id),
    name: String(r.name),
    stock: Number(r.stock),
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
  };
}

/** VendingStore over a PostgresStore's pool and transactions. */
export class PostgresVending implements VendingStore {
  #queue: MachineQueue;

  /**
   * @param store the PostgreSQL store whose pool and transactions this uses
   * @param times processing lease and claim TTL
   */
  constructor(readonly store: PostgresStore, readonly times: LeaseTimes) {
    this.#queue = new MachineQueue({
      claim: () => this.#claim(),
      nextFreeAt: () => this.#nextFreeAt(),
      onChange: (listener) => store.onEvents(listener),
    });
  }

  listMachines(): Promise<MachineRecord[]> {
    return this.store.read(async (sql) => {
      const rows = await sql`SELECT * FROM vending_machines ORDER BY id`;
      const now = Date.now();
      return rows.map((r) => settle(toMachine(r), now, this.times));
    });
  }

  getMachine(id: number): Promise<MachineRecord | null> {
    if (!isRowId(id)) return Promise.resolve(null);
    return this.store.read(async (sql) => {
      const [row] = await sql`SELECT * FROM vending_machines WHERE id = ${id}`;
      return row ? settle(toMachine(row), Date.now(), this.times) : null;
    });
  }

  createMachine(name: string): Promise<MachineRecord> {
    return this.store.transaction(async (tx) => {
      const [row] = await tx.sql`
        INSERT INTO vending_machines (name, status, usage_count, created_at, updated_at)
        VALUES (${name}, 'idle', 0, ${tx.now}, ${tx.now}) RETURNING *`;
      return await this.#changed(tx, toMachine(row!));
    });
  }

  renameMachine(id: number, name: string): Promise<MachineRecord> {
    return this.store.transaction(async (tx) => {
      const m = await this.#lockedMachine(tx, id);
      return await this.#save(tx, { ...m, name, updatedAt: tx.now.getTime() });
    });
  }

  deleteMachine(id: number): Promise<void> {
    return this.store.transaction(async (tx) => {
      const m = await this.#lockedMachine(tx, id);
      await tx.sql`DELETE FROM vending_machines WHERE id = ${m.id}`;
      await tx.event("vending.machine.deleted", { id: m.id });
    });
  }

  resetMachine(id: number): Promise<MachineRecord> {
    return this.store.transaction(async (tx) => {
      const m = await this.#lockedMachine(tx, id);
      const next = resetOf(m, tx.now.getTime(), this.times);
      if (!next) throw alreadyIdle();
      return await this.#save(tx, next);
    });
  }

  listProducts(): Promise<Product[]> {
    return this.store.read(async (sql) =>
      (await sql`SELECT * FROM vending_products ORDER BY id`).map(toProduct)
    );
  }

  getProduct(id: number): Promise<Product | null> {
    if (!isRowId(id)) return Promise.resolve(null);
    return this.store.read(async (sql) => {
      const [row] = await sql`SELECT * FROM vending_products WHERE id = ${id}`;
      return row ? toProduct(row) : null;
    });
  }

  createProduct(input: { name: string; stock: number }): Promise<Product> {
    const key = nameKey(input.name);
    return this.store.transaction(async (tx) => {
      requireFields(input, STOCK_RULES);
      let rows;
      try {
        rows = await tx.sql`
          INSERT INTO vending_products (name, name_key, stock, created_at, updated_at)
          VALUES (${input.name}, ${key}, ${input.stock}, ${tx.now}, ${tx.now})
          RETURNING *`;
      } catch (e) {
        if (isUniqueViolation(e)) throw duplicateProduct();
        throw e;
      }
      const p = toProduct(rows[0]!);
      await tx.event("vending.product.updated", productJson(p));
      return p;
    });
  }

  setProductStock(id: number, stock: number): Promise<Product> {
    return this.store.transaction(async (tx) => {
      requireFields({ stock }, STOCK_RULES);
      const [row] = isRowId(id)
        ? await tx.sql`
          UPDATE vending_products SET stock = ${stock}, updated_at = ${tx.now}
          WHERE id = ${id} RETURNING *`
        : [];
      if (!row) throw modelNotFound("Product", id);
      const p = toProduct(row);
      await tx.event("vending.product.updated", productJson(p));
      return p;
    });
  }

  deleteProduct(id: number): Promise<void> {
    return this.store.transaction(async (tx) => {
      const res = isRowId(id)
        ? await tx.sql`DELETE FROM vending_products WHERE id = ${id}`
        : { count: 0 };
      if (res.count === 0) throw modelNotFound("Product", id);
      await tx.event("vending.product.deleted", { id });
    });
  }

  clear(): Promise<void> {
    return this.store.transaction(async (tx) => {
      await tx
        .sql`TRUNCATE vending_machines, vending_products RESTART IDENTITY`;
      await tx.event("vending.cleared", {});
    });
  }

  startWork(opts: StartWorkOptions = {}): Promise<MachineRecord> {
    return this.#queue.startWork(opts);
  }

  async chooseProduct(
    input: ChooseInput,
    opts: { idempotency?: IdemKey | null } = {},
  ): Promise<PurchaseResult> {
    const out = await this.store.transaction((tx) =>
      idempotent(tx, opts.idempotency, async () => {
        const body = await this.#purchase(tx, input);
        return { status: 200, body, resourceId: input.machineId };
      })
    );
    return { status: out.status, body: out.body, replayed: out.replayed };
  }

  close(): Promise<void> {
    return this.#queue.close();
  }

  /** The purchase in one transaction: machine row locked first, then the stock. */
  async #purchase(tx: PgTx, input: ChooseInput) {
    const now = tx.now.getTime();
    const [machine] = isRowId(input.machineId)
      ? await tx
        .sql`SELECT * FROM vending_machines WHERE id = ${input.machineId} FOR UPDATE`
      : [];
    const [productRow] = isRowId(input.productId)
      ? await tx
        .sql`SELECT id FROM vending_products WHERE id = ${input.productId}`
      : [];
    const missing: Record<string, string[]> = {};
    if (!machine) missing.machine_id = [invalidSelection("machine_id")];
    if (!productRow) missing.product_id = [invalidSelection("product_id")];
    if (!machine || !productRow) throw new FieldErrors(missing);
    checkCoins(input);
    const m = settle(toMachine(machine), now, this.times);
    if (m.status !== "choose_product") throw notChoosing();
    const [sold] = await tx.sql`
      UPDATE vending_products SET stock = stock - ${input.count}, updated_at = ${tx.now}
      WHERE id = ${input.productId} AND stock >= ${input.count} RETURNING *`;
    if (!sold) {
      const [left] = await tx
        .sql`SELECT stock FROM vending_products WHERE id = ${input.productId}`;
      throw insufficientStock(Number(left?.stock ?? 0));
    }
    const product = toProduct(sold);
    const busy = await this.#save(tx, {
      ...m,
      status: "processing",
      busyUntil: now + this.times.processingMs,
      claimedAt: null,
      updatedAt: now,
    });
    await tx.event("vending.product.updated", productJson(product));
    return purchaseJson(busy, product);
  }

  /**
   * The least-used idle machine (leases applied; ties by id) becomes
   * `choose_product`. Rows other claims hold are skipped, not waited for.
   */
  #claim(): Promise<MachineRecord | null> {
    // usage_count stops at MAX_INT as `settle` does: one more would fail every claim (22003).
    return this.store.transaction(async (tx) => {
      const expired = new Date(tx.now.getTime() - this.times.claimTtlMs);
      const [row] = await tx.sql`
        WITH pick AS (
          SELECT id FROM vending_machines
          WHERE status = 'idle'
             OR (status = 'processing' AND busy_until <= ${tx.now})
             OR (status = 'choose_product' AND claimed_at <= ${expired})
          ORDER BY usage_count::bigint + (status = 'processing')::int, id
          LIMIT 1
          FOR UPDATE SKIP LOCKED)
        UPDATE vending_machines m
        SET usage_count = LEAST(
              m.usage_count::bigint + (m.status = 'processing')::int, ${MAX_INT}),
            status = 'choose_product', busy_until = NULL,
            claimed_at = ${tx.now}, updated_at = ${tx.now}
        FROM pick WHERE m.id = pick.id
        RETURNING m.*`;
      return row ? await this.#changed(tx, toMachine(row)) : null;
    });
  }

  #nextFreeAt(): Promise<number | null> {
    return this.store.read(async (sql) => {
      const [row] = await sql`
        SELECT MIN(CASE WHEN status = 'processing' THEN busy_until
                   ELSE claimed_at + ${this.times.claimTtlMs} * interval '1 millisecond' END) AS t
        FROM vending_machines WHERE status IN ('processing', 'choose_product')`;
      return msOrNull(row?.t);
    });
  }

  /** The machine, row-locked, as it is now (leases applied), or the Laravel 404. */
  async #lockedMachine(tx: PgTx, id: number): Promise<MachineRecord> {
    const [row] = isRowId(id)
      ? await tx.sql`SELECT * FROM vending_machines WHERE id = ${id} FOR UPDATE`
      : [];
    if (!row) throw modelNotFound("VendingMachine", id);
    return settle(toMachine(row), tx.now.getTime(), this.times);
  }

  /** Writes every column of `m` (persisting any lease it settled) and its event. */
  async #save(tx: PgTx, m: MachineRecord): Promise<MachineRecord> {
    const [row] = await tx.sql`
      UPDATE vending_machines SET name = ${m.name}, status = ${m.status},
        usage_count = ${m.usageCount}, busy_until = ${dateOrNull(m.busyUntil)},
        claimed_at = ${dateOrNull(m.claimedAt)}, updated_at = ${new Date(
      m.updatedAt,
    )}
      WHERE id = ${m.id} RETURNING *`;
    return await this.#changed(tx, toMachine(row!));
  }

  async #changed(tx: PgTx, m: MachineRecord): Promise<MachineRecord> {
    await tx.event("vending.machine.updated", machineJson(m));
    return m;
  }
}
