/** Picks the vending implementation for a store's backend. */
import type { Config } from "../config.ts";
import type { LeaseTimes } from "../domain/vending.ts";
import { LibsqlStore } from "./libsql_store.ts";
import type { ThreadedLibsqlStore } from "./libsql_threaded.ts";
import { LibsqlVending } from "./libsql_vending.ts";
import type { PostgresStore } from "./postgres_store.ts";
import { PostgresVending } from "./postgres_vending.ts";
import type { Store } from "./store.ts";
import type { VendingStore } from "./vending_store.ts";

/** The lease durations a configuration asks for. */
export function leaseTimes(
  config: Pick<Config, "vendingProcessingMs" | "vendingClaimTtlMs">,
): LeaseTimes {
  return {
    processingMs: config.vendingProcessingMs,
    claimTtlMs: config.vendingClaimTtlMs,
  };
}

/** The vending orchestrator on the same database (and connections) as `store`. */
export function openVending(
  store: Store,
  config: Pick<Config, "vendingProcessingMs" | "vendingClaimTtlMs">,
): VendingStore {
  if (store.backend === "libsql" && "vending" in store) {
    return (store as ThreadedLibsqlStore).vending(leaseTimes(config));
  }
  if (store.backend === "libsql" && store instanceof LibsqlStore) {
    return new LibsqlVending(store, leaseTimes(config));
  }
  if (store.backend === "postgres") {
    return new PostgresVending(store as PostgresStore, leaseTimes(config));
  }
  throw new Error(
    `No vending implementation for a ${store.backend} store of this kind`,
  );
}
