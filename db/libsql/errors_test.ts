import assert from "node:assert/strict";
import { ConflictError, ValidationError } from "../../domain/errors.ts";
import { openNative } from "./native.ts";
import { translateLibsqlError } from "./errors.ts";

/** The error SQLite really raises for `source`, translated. */
async function translated(source: string, args: unknown[] = []) {
  const db = openNative(":memory:");
  try {
    await db.sql.run("CREATE TABLE t (q INTEGER CHECK (q >= 0))");
    await db.sql.run(`CREATE TRIGGER refuse BEFORE INSERT ON t WHEN NEW.q = 42
      BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END`);
    await db.sql.all(source, args as never);
  } catch (e) {
    return translateLibsqlError(e);
  } finally {
    db.close();
  }
  assert.fail(`${source} did not fail`);
}

Deno.test("translateLibsqlError() makes numbers that do not fit a 422", async () => {
  for (
    const [source, args] of [
      ["SELECT abs(-9223372036854775808)", []],
      [
        "SELECT sum(x) FROM (SELECT 9223372036854775807 AS x UNION ALL SELECT 1)",
        [],
      ],
      ["INSERT INTO t VALUES (?)", [2n ** 70n]],
    ] as [string, unknown[]][]
  ) {
    const e = await translated(source, args);
    assert.ok(e instanceof ValidationError, `${source}: ${e}`);
    assert.equal(e.code, "value_out_of_range");
  }
});

Deno.test("translateLibsqlError() makes a failed CHECK a 409 and leaves others alone", async () => {
  const check = await translated("INSERT INTO t VALUES (?)", [-1]);
  assert.ok(check instanceof ConflictError);
  assert.equal(check.code, "constraint_violation");
  const trigger = await translated("INSERT INTO t VALUES (?)", [42]);
  assert.match(
    String(trigger),
    /refused by a trigger/,
    "a trigger's own error",
  );
  const other = await translated("SELECT * FROM missing_table");
  assert.ok(
    !(other instanceof ConflictError || other instanceof ValidationError),
  );
  const domain = new ValidationError("x", "y");
  assert.equal(translateLibsqlError(domain), domain);
});
