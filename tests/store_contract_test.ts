import { backends } from "./_helpers.ts";
import { storeContract } from "./store_contract.ts";

for (const backend of backends()) storeContract(backend);
