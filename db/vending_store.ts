/** The storage contract of the vending orchestrator; every backend implements it. */
import type { IdemKey } from "../domain/idempotency.ts";
import type { ChooseInput, MachineRecord, Product } from "../domain/vending.ts";

/** How `startWork` may wait for a machine. */
export interface StartWorkOptions {
  /** Wait up to this long for a machine, in arrival order (0: answer at once). */
  waitMs?: number;
  /** Aborts the wait (the client went away). */
  signal?: AbortSignal;
}

/** The answer to a purchase, as stored under its idempotency key. */
export interface PurchaseResult {
  status: number;
  body: unknown;
  replayed: boolean;
}

/**
 * Machines, products and the orchestrator. Every machine returned has its
 * leases applied (see `settle`); every change appends `vending.*` events in
 * the same transaction.
 */
export interface VendingStore {
  listMachines(): Promise<MachineRecord[]>;
  getMachine(id: number): Promise<MachineRecord | null>;
  createMachine(name: string): Promise<MachineRecord>;
  /** Renames a machine (NotFoundError when it does not exist). */
  renameMachine(id: number, name: string): Promise<MachineRecord>;
  deleteMachine(id: number): Promise<void>;
  /** Forces a busy machine back to idle; ConflictError when it already is. */
  resetMachine(id: number): Promise<MachineRecord>;

  listProducts(): Promise<Product[]>;
  getProduct(id: number): Promise<Product | null>;
  /** Adds a product (BadRequestError when the name exists). */
  createProduct(input: { name: string; stock: number }): Promise<Product>;
  setProductStock(id: number, stock: number): Promise<Product>;
  deleteProduct(id: number): Promise<void>;

  /** Claims the least-used idle machine (ties by id) for one customer. */
  startWork(opts?: StartWorkOptions): Promise<MachineRecord>;
  /**
   * Sells `count` items through a machine in `choose_product` and starts its
   * processing lease; exactly once per idempotency key.
   */
  chooseProduct(
    input: ChooseInput,
    opts?: { idempotency?: IdemKey | null },
  ): Promise<PurchaseResult>;

  /** Deletes every machine and product and restarts their ids (`deno task seed:vending`). */
  clear(): Promise<void>;

  /** Ends every pending wait; the underlying Store stays open. */
  close(): Promise<void>;
}
