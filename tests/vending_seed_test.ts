/** `deno task seed:vending`: the standard scenario, as a real process on a real database. */
import assert from "node:assert/strict";
import { openVending } from "../db/vending_open.ts";
import { SEED_STOCK } from "../db/vending_seed.ts";
import { backends, testConfig } from "./_helpers.ts";

for (const backend of backends()) {
  Deno.test({
    name:
      `[${backend.name}] seed:vending replaces machines and products, ids from 1${
        backend.skip ? ` (skipped: ${backend.skip})` : ""
      }`,
    ignore: backend.skip !== undefined,
    async fn() {
      const db = await backend.open();
      const vending = openVending(db.store, testConfig());
      try {
        await vending.createMachine("Old");
        await vending.createProduct({ name: "Old", stock: 1 });
        const item = await db.store.createMenuItem({
          name: "Soup",
          description: "",
          priceCents: 500,
          category: "Starters",
          available: true,
          stock: null,
        });
        const run = await new Deno.Command(Deno.execPath(), {
          args: ["task", "seed:vending"],
          env: { DATABASE_URL: db.url },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const err = new TextDecoder().decode(run.stderr);
        assert.equal(run.code, 0, err);
        assert.match(err, /5 idle machines, 10 products with 200 each/);

        const machines = await vending.listMachines();
        assert.deepEqual(machines.map((m) => m.id), [1, 2, 3, 4, 5]);
        assert.ok(
          machines.every((m) => m.status === "idle" && m.usageCount === 0),
        );
        const products = await vending.listProducts();
        assert.deepEqual(products.map((p) => p.id), [
          1,
          2,
          3,
          4,
          5,
          6,
          7,
          8,
          9,
          10,
        ]);
        assert.ok(products.every((p) => p.stock === SEED_STOCK));
        assert.equal(new Set(products.map((p) => p.name)).size, 10);
        assert.ok(
          await db.store.getMenuItem(item.id),
          "the restaurant data stays",
        );
      } finally {
        await vending.close();
        await db.cleanup();
      }
    },
  });
}
