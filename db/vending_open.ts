/** Picks the vending implementation for a store's backend. */
import type { Config } from "../config.ts";
import { UnavailableError } from "../domain/errors.ts";
import type { LeaseTimes } from "../domain/vending.ts";
import { LibsqlStore } from "./libsql_store.ts";
import { LibsqlVending } from "./libsql_vending.ts";
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
  if (store.backend === "libsql" && store instanceof LibsqlStore) {
    return new LibsqlVending(store, leaseTimes(config));
  }
  return unavailable(store.backend);
}

/** A backend without a vending implementation answers 503 instead of failing start-up. */
function unavailable(backend: string): VendingStore {
  const fail = () =>
    Promise.reject(
      new UnavailableError(
        `Vending is not available on the ${backend} backend`,
      ),
    );
  return {
    listMachines: fail,
    getMachine: fail,
    createMachine: fail,
    renameMachine: fail,
    deleteMachine: fail,
    resetMachine: fail,
    listProducts: fail,
    getProduct: fail,
    createProduct: fail,
    setProductStock: fail,
    deleteProduct: fail,
    startWork: fail,
    chooseProduct: fail,
    clear: fail,
    close: () => Promise.resolve(),
  };
}
