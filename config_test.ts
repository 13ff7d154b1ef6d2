import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "./config.ts";

Deno.test("loadConfig() fills every default from an empty environment", () => {
  const c = loadConfig({});
  assert.equal(c.port, 8000);
  assert.equal(c.host, "127.0.0.1");
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.maxBodyBytes, 65536);
  assert.equal(c.idempotencyTtlS, 86400);
  assert.equal(c.vendingProcessingMs, 5000);
  assert.equal(c.demoData, true);
});

Deno.test("loadConfig() stops on a bad value with one line naming it", () => {
  for (
    const [env, name] of [
      [{ PORT: "abc" }, "PORT"],
      [{ PORT: "70000" }, "PORT"],
      [{ MAX_BODY_BYTES: "-1" }, "MAX_BODY_BYTES"],
      [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
      [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    ] as const
  ) {
    assert.throws(() => loadConfig(env), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, new RegExp(`^Invalid ${name}: `));
      assert.equal(e.message.includes("\n"), false);
      return true;
    });
  }
});

Deno.test("loadConfig() accepts every supported database URL", () => {
  for (
    const url of [
      "file:x.db",
      "libsql://db.example",
      "https://db.example",
      "postgres://u@h/db",
    ]
  ) {
    assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url);
  }
});
