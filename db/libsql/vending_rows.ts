/** Row mapping of the vending tables on libSQL (epoch-ms integers). */
import type { Row } from "@libsql/client";
import { numOrNull } from "./rows.ts";
import type {
  MachineRecord,
  MachineStatus,
  Product,
} from "../../domain/vending.ts";

const num = (v: unknown) => Number(v);

/** Maps a `vending_machines` row (as stored, leases not applied). */
export function toMachine(r: Row): MachineRecord {
  return {
    id: num(r.id),
    name: String(r.name),
    status: String(r.status) as MachineStatus,
    usageCount: num(r.usage_count),
    busyUntil: numOrNull(r.busy_until),
    claimedAt: numOrNull(r.claimed_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Maps a `vending_products` row. */
export function toProduct(r: Row): Product {
  return {
    id: num(r.id),
    name: String(r.name),
    stock: num(r.stock),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}
