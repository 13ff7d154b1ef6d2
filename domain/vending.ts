/**
 * Vending machines and their products: states, leases and the JSON shapes of
 * the Laravel orchestrator. A purchase does not start a sleeping job; it
 * stores a lease (`busyUntil`) and every read or claim applies leases that
 * have passed, so the state survives restarts and a reset cannot be undone.
 */
import { MAX_INT } from "./vending_rules.ts";

/** The states of a machine, as the Laravel orchestrator names them. */
export const MACHINE_STATUSES = [
  "idle",
  "choose_product",
  "processing",
] as const;

/** One of {@link MACHINE_STATUSES}. */
export type MachineStatus = typeof MACHINE_STATUSES[number];

/** A machine as stored: its status plus the lease that ends that status. */
export interface MachineRecord {
  id: number;
  name: string;
  status: MachineStatus;
  usageCount: number;
  /** Epoch ms when `processing` ends (then idle, usage + 1); null otherwise. */
  busyUntil: number | null;
  /** Epoch ms when the machine entered `choose_product`; null otherwise. */
  claimedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A vending product and its stock. */
export interface Product {
  id: number;
  name: string;
  stock: number;
  createdAt: number;
  updatedAt: number;
}

/** How long the two timed states last, from the configuration. */
export interface LeaseTimes {
  /** `VENDING_PROCESSING_MS`: a purchase keeps the machine busy this long. */
  processingMs: number;
  /** `VENDING_CLAIM_TTL_MS`: an unanswered claim returns to idle after this. */
  claimTtlMs: number;
}

/** The part of {@link LeaseTimes} that reading a machine needs. */
export type ClaimTtl = Pick<LeaseTimes, "claimTtlMs">;

/** Epoch ms when `m` returns to idle by itself; null when it stays as it is. */
export function freeAt(
  m: MachineRecord,
  { claimTtlMs }: ClaimTtl,
): number | null {
  if (m.status === "processing") return m.busyUntil;
  if (m.status === "choose_product" && m.claimedAt !== null) {
    return m.claimedAt + claimTtlMs;
  }
  return null;
}

/**
 * The machine as it is at `now`: a passed purchase lease makes it idle with
 * one more use, an expired claim makes it idle; `updatedAt` is when that
 * happened. Pure, so reads and writes on every backend agree.
 */
export function settle(
  m: MachineRecord,
  now: number,
  times: ClaimTtl,
): MachineRecord {
  const end = freeAt(m, times);
  if (end === null || end > now) return m;
  return {
    ...m,
    status: "idle",
    usageCount: usesAfter(m),
    busyUntil: null,
    claimedAt: null,
    updatedAt: Math.max(m.updatedAt, end),
  };
}

/**
 * The use count once a vend in progress is counted. It stops at MAX_INT, the
 * largest PostgreSQL `integer`: past it every claim of the machine would fail.
 */
function usesAfter(m: MachineRecord): number {
  return Math.min(MAX_INT, m.usageCount + (m.status === "processing" ? 1 : 0));
}

/**
 * The machine after a manual reset. A reset of a `processing` machine ends
 * the vend early and counts it (the sale happened and the stock is taken, and
 * the Laravel job would have counted it too); a reset of an unanswered claim
 * counts nothing. Null when the machine is already idle.
 */
export function resetOf(
  m: MachineRecord,
  now: number,
  times: ClaimTtl,
): MachineRecord | null {
  const current = settle(m, now, times);
  if (current.status === "idle") return null;
  return {
    ...current,
    status: "idle",
    usageCount: usesAfter(current),
    busyUntil: null,
    claimedAt: null,
    updatedAt: now,
  };
}

/** Epoch ms as Laravel serialises timestamps: `2026-01-01T00:00:00.000000Z`. */
export function laravelTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** A machine as the orchestrator's clients see it. */
export function machineJson(m: MachineRecord) {
  return {
    id: m.id,
    name: m.name,
    status: m.status,
    usage_count: m.usageCount,
    created_at: laravelTime(m.createdAt),
    updated_at: laravelTime(m.updatedAt),
  };
}

/** A product as the orchestrator's clients see it. */
export function productJson(p: Product) {
  return {
    id: p.id,
    name: p.name,
    stock: p.stock,
    created_at: laravelTime(p.createdAt),
    updated_at: laravelTime(p.updatedAt),
  };
}

/** A purchase request after its fields passed validation. */
export interface ChooseInput {
  machineId: number;
  productId: number;
  count: number;
  coins: number;
}

/** The 200 body of a purchase. */
export function purchaseJson(machine: MachineRecord, product: Product) {
  return {
    message: "Product selected. Machine is now processing.",
    machine: machineJson(machine),
    product: productJson(product),
  };
}
