/**
 * The vending orchestrator on libSQL. Every write is a job of the store's
 * single group-commit writer, so a claim (pick the least-used idle machine,
 * mark it) cannot interleave with another: no machine is handed out twice
 * and stock cannot oversell. Reads use the reader connection and apply
 * leases on the fly.
 */
import type { IdemKey } from "../../domain/idempotency.ts";
import { nameKey } from "../../domain/name_key.ts";
import {
  type ChooseInput,
  type LeaseTimes,
  machineJson,
  type MachineRecord,
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
import { idempotent } from "./idempotency.ts";
import { numOrNull } from "./rows.ts";
import { toMachine, toProduct } from "./vending_rows.ts";
import type { LibsqlStore } from "./store.ts";
import type { Sql, WriteTx } from "./writer.ts";
import { MachineQueue } from "../vending_waiters.ts";
import type {
  PurchaseResult,
  StartWorkOptions,
  VendingStore,
} from "../vending_store.ts";

const isUnique = (e: unknown) =>
  /UNIQUE constraint failed/i.test(String((e as Error)?.message));

/** Machines that are idle at `?1`, leases applied (`?2` is the claim TTL). */
const EFFECTIVELY_IDLE = `(status = 'idle'
  OR (status = 'processing' AND busy_until <= ?1)
  OR (status = 'choose_product' AND claimed_at <= ?1 - ?2))`;
// Stops at MAX_INT as `settle` does.
const USES =
  `MIN(usage_count + (CASE WHEN status = 'processing' THEN 1 ELSE 0 END), ${MAX_INT})`;

/** VendingStore over a LibsqlStore's writer and reader. */
export class LibsqlVending implements VendingStore {
  #queue: MachineQueue;

  /**
   * @param store the libSQL store whose writer and reader this uses
   * @param times processing lease and claim TTL
   */
  constructor(readonly store: LibsqlStore, readonly times: LeaseTimes) {
    this.#queue = new MachineQueue({
      claim: () => this.#claim(),
      nextFreeAt: () => this.#nextFreeAt(),
      onChange: (listener) => store.onEvents(listener),
    });
  }

  async listMachines(): Promise<MachineRecord[]> {
    const rows = await this.store.read(
      "SELECT * FROM vending_machines ORDER BY id",
    );
    const now = Date.now();
    return rows.map((r) => settle(toMachine(r), now, this.times));
  }

  async getMachine(id: number): Promise<MachineRecord | null> {
    if (!isRowId(id)) return null;
    const [row] = await this.store.read(
      "SELECT * FROM vending_machines WHERE id = ?",
      [id],
    );
    return row ? settle(toMachine(row), Date.now(), this.times) : null;
  }

  createMachine(name: string): Promise<MachineRecord> {
    return this.store.write(async (tx) => {
      const [row] = await tx.all(
        `INSERT INTO vending_machines (name, status, usage_count, created_at, updated_at)
         VALUES (?, 'idle', 0, ?, ?) RETURNING *`,
        [name, tx.now, tx.now],
      );
      return await this.#changed(tx, toMachine(row!));
    });
  }

  renameMachine(id: number, name: string): Promise<MachineRecord> {
    return this.store.write(async (tx) => {
      const m = await this.#lockedMachine(tx, id);
      return await this.#save(tx, { ...m, name, updatedAt: tx.now });
    });
  }

  deleteMachine(id: number): Promise<void> {
    return this.store.write(async (tx) => {
      const m = await this.#lockedMachine(tx, id);
      await tx.run("DELETE FROM vending_machines WHERE id = ?", [id]);
      await tx.event("vending.machine.deleted", { id: m.id });
    });
  }

  resetMachine(id: number): Promise<MachineRecord> {
    return this.store.write(async (tx) => {
      const m = await this.#lockedMachine(tx, id);
      const next = resetOf(m, tx.now, this.times);
      if (!next) throw alreadyIdle();
      return await this.#save(tx, next);
    });
  }

  async listProducts(): Promise<Product[]> {
    return (await this.store.read("SELECT * FROM vending_products ORDER BY id"))
      .map(toProduct);
  }

  async getProduct(id: number): Promise<Product | null> {
    if (!isRowId(id)) return null;
    const [row] = await this.store.read(
      "SELECT * FROM vending_products WHERE id = ?",
      [id],
    );
    return row ? toProduct(row) : null;
  }

  createProduct(input: { name: string; stock: number }): Promise<Product> {
    return this.store.write(async (tx) => {
      requireFields(input, STOCK_RULES);
      try {
        const [row] = await tx.all(
          `INSERT INTO vending_products (name, name_key, stock, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?) RETURNING *`,
          [input.name, nameKey(input.name), input.stock, tx.now, tx.now],
        );
        const p = toProduct(row!);
        await tx.event("vending.product.updated", productJson(p));
        return p;
      } catch (e) {
        if (isUnique(e)) throw duplicateProduct();
        throw e;
      }
    });
  }

  setProductStock(id: number, stock: number): Promise<Product> {
    return this.store.write(async (tx) => {
      requireFields({ stock }, STOCK_RULES);
      const rows = isRowId(id)
        ? await tx.all(
          "UPDATE vending_products SET stock = ?, updated_at = ? WHERE id = ? RETURNING *",
          [stock, tx.now, id],
        )
        : [];
      if (!rows[0]) throw modelNotFound("Product", id);
      const p = toProduct(rows[0]);
      await tx.event("vending.product.updated", productJson(p));
      return p;
    });
  }

  deleteProduct(id: number): Promise<void> {
    return this.store.write(async (tx) => {
      const n = isRowId(id)
        ? await tx.run("DELETE FROM vending_products WHERE id = ?", [id])
        : 0;
      if (n === 0) throw modelNotFound("Product", id);
      await tx.event("vending.product.deleted", { id });
    });
  }

  clear(): Promise<void> {
    return this.store.write(async (tx) => {
      await tx.run("DELETE FROM vending_machines");
      await tx.run("DELETE FROM vending_products");
      await tx.run(
        "DELETE FROM sqlite_sequence WHERE name IN ('vending_machines', 'vending_products')",
      );
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
    const out = await this.store.write((tx) =>
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

  /** The purchase inside one writer job: checks in the Laravel order, then the effects. */
  async #purchase(tx: WriteTx, input: ChooseInput) {
    const machine = await this.#machineRow(tx, input.machineId);
    const [productRow] = isRowId(input.productId)
      ? await tx.all("SELECT * FROM vending_products WHERE id = ?", [
        input.productId,
      ])
      : [];
    const missing: Record<string, string[]> = {};
    if (!machine) missing.machine_id = [invalidSelection("machine_id")];
    if (!productRow) missing.product_id = [invalidSelection("product_id")];
    if (!machine || !productRow) throw new FieldErrors(missing);
    checkCoins(input);
    const m = settle(machine, tx.now, this.times);
    if (m.status !== "choose_product") throw notChoosing();
    const [sold] = await tx.all(
      `UPDATE vending_products SET stock = stock - ?1, updated_at = ?2
       WHERE id = ?3 AND stock >= ?1 RETURNING *`,
      [input.count, tx.now, input.productId],
    );
    if (!sold) throw insufficientStock(toProduct(productRow).stock);
    const product = toProduct(sold);
    const busy = await this.#save(tx, {
      ...m,
      status: "processing",
      busyUntil: tx.now + this.times.processingMs,
      claimedAt: null,
      updatedAt: tx.now,
    });
    await tx.event("vending.product.updated", productJson(product));
    return purchaseJson(busy, product);
  }

  /** One writer job: the least-used idle machine (ties by id) becomes `choose_product`. */
  #claim(): Promise<MachineRecord | null> {
    return this.store.write(async (tx) => {
      const [row] = await tx.all(
        `UPDATE vending_machines SET usage_count = ${USES},
           status = 'choose_product', busy_until = NULL, claimed_at = ?1, updated_at = ?1
         WHERE id = (SELECT id FROM vending_machines WHERE ${EFFECTIVELY_IDLE}
                     ORDER BY ${USES}, id LIMIT 1)
         RETURNING *`,
        [tx.now, this.times.claimTtlMs],
      );
      return row ? await this.#changed(tx, toMachine(row)) : null;
    });
  }

  async #nextFreeAt(): Promise<number | null> {
    const [row] = await this.store.read(
      `SELECT MIN(CASE WHEN status = 'processing' THEN busy_until ELSE claimed_at + ? END) AS t
       FROM vending_machines WHERE status IN ('processing', 'choose_product')`,
      [this.times.claimTtlMs],
    );
    return numOrNull(row?.t);
  }

  async #machineRow(tx: Sql, id: number): Promise<MachineRecord | null> {
    if (!isRowId(id)) return null;
    const [row] = await tx.all("SELECT * FROM vending_machines WHERE id = ?", [
      id,
    ]);
    return row ? toMachine(row) : null;
  }

  /** The machine as it is now (leases applied), or the Laravel 404. */
  async #lockedMachine(tx: WriteTx, id: number): Promise<MachineRecord> {
    const m = await this.#machineRow(tx, id);
    if (!m) throw modelNotFound("VendingMachine", id);
    return settle(m, tx.now, this.times);
  }

  /** Writes every column of `m` (persisting any lease it settled) and its event. */
  async #save(tx: WriteTx, m: MachineRecord): Promise<MachineRecord> {
    const [row] = await tx.all(
      `UPDATE vending_machines SET name = ?, status = ?, usage_count = ?, busy_until = ?,
         claimed_at = ?, updated_at = ? WHERE id = ? RETURNING *`,
      [
        m.name,
        m.status,
        m.usageCount,
        m.busyUntil,
        m.claimedAt,
        m.updatedAt,
        m.id,
      ],
    );
    return await this.#changed(tx, toMachine(row!));
  }

  async #changed(tx: WriteTx, m: MachineRecord): Promise<MachineRecord> {
    await tx.event("vending.machine.updated", machineJson(m));
    return m;
  }
}
