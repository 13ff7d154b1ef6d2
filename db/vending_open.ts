/** The vending orchestrator of a store, with the lease times the configuration asks for. */
import type { Config } from "../config.ts";
import type { LeaseTimes } from "../domain/vending.ts";
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
  return store.vending(leaseTimes(config));
}
