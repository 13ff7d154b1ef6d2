import assert from "node:assert/strict";
import {
  ConfigError,
  defaultMaxConnections,
  FALLBACK_OPEN_FILES,
  isLoopback,
  loadConfig,
  openFilesLimit,
} from "./config.ts";

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

Deno.test("loadConfig() parses the hardening settings", () => {
  const d = loadConfig({});
  assert.deepEqual(d.corsOrigins, []);
  assert.equal(d.rateLimitWritesPerMin, 0);
  assert.equal(d.protectReads, false);
  assert.equal(d.protectOrdering, false);
  const c = loadConfig({
    CORS_ORIGINS: "https://pos.example, http://127.0.0.1:5173",
    RATE_LIMIT_WRITES_PER_MIN: "120",
    PROTECT_READS: "1",
    PROTECT_ORDERING: "true",
    ADMIN_TOKEN: "admin-secret",
    STAFF_TOKEN: "staff-secret",
  });
  assert.deepEqual(c.corsOrigins, [
    "https://pos.example",
    "http://127.0.0.1:5173",
  ]);
  assert.equal(c.rateLimitWritesPerMin, 120);
  assert.equal(c.protectReads, true);
  assert.equal(c.protectOrdering, true);
  assert.equal(c.adminToken, "admin-secret");
});

Deno.test("loadConfig() rejects bad hardening values naming the variable", () => {
  for (
    const [env, name] of [
      [{ CORS_ORIGINS: "*" }, "CORS_ORIGINS"],
      [{ CORS_ORIGINS: "https://a.example/path" }, "CORS_ORIGINS"],
      [{ CORS_ORIGINS: "ftp://a.example" }, "CORS_ORIGINS"],
      [{ RATE_LIMIT_WRITES_PER_MIN: "-5" }, "RATE_LIMIT_WRITES_PER_MIN"],
      [{ RATE_LIMIT_WRITES_PER_MIN: "lots" }, "RATE_LIMIT_WRITES_PER_MIN"],
      [{ PROTECT_READS: "maybe" }, "PROTECT_READS"],
      [{ STAFF_TOKEN: "staff-only" }, "STAFF_TOKEN"],
      [{ ADMIN_TOKEN: "same", STAFF_TOKEN: "same" }, "STAFF_TOKEN"],
      [{ ADMIN_TOKEN: "two words" }, "ADMIN_TOKEN"],
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

Deno.test("loadConfig() refuses an open non-loopback HOST unless ALLOW_OPEN=1", () => {
  assert.throws(
    () => loadConfig({ HOST: "0.0.0.0" }),
    /^ConfigError: Invalid HOST: refusing to listen on non-loopback "0\.0\.0\.0".*ALLOW_OPEN=1/,
  );
  assert.equal(
    loadConfig({ HOST: "0.0.0.0", ALLOW_OPEN: "1" }).allowOpen,
    true,
  );
  assert.equal(
    loadConfig({ HOST: "0.0.0.0", ADMIN_TOKEN: "t0ken" }).host,
    "0.0.0.0",
  );
  for (const host of ["127.0.0.1", "localhost", "::1", "127.1.2.3"]) {
    assert.equal(loadConfig({ HOST: host }).host, host);
  }
  assert.equal(isLoopback("192.168.1.10"), false);
  assert.equal(isLoopback("localhost.evil.example"), false);
});

Deno.test("loadConfig() derives the connection limit from the open-file limit", () => {
  const d = loadConfig({});
  assert.equal(d.headerTimeoutMs, 10_000);
  assert.equal(d.maxConnections, defaultMaxConnections(FALLBACK_OPEN_FILES));
  for (const openFiles of [256, 1024, 20_000]) {
    const c = loadConfig({}, { openFiles });
    assert.ok(c.maxConnections >= 32, `${openFiles}: ${c.maxConnections}`);
    // Held connections, a full accept queue being refused twice over, and
    // 128 descriptors for the runtime and the database still fit.
    assert.ok(
      c.maxConnections + 2 * (c.listenBacklog + 1) + 128 <= openFiles,
      `${openFiles}: ${c.maxConnections} + queue ${c.listenBacklog}`,
    );
  }
  assert.equal(loadConfig({}, { openFiles: 1024 }).maxConnections, 638);
  const set = loadConfig(
    { HEADER_TIMEOUT_MS: "2500", MAX_CONNECTIONS: "500" },
    { openFiles: 1024 },
  );
  assert.equal(set.headerTimeoutMs, 2500);
  assert.equal(set.maxConnections, 500);
});

Deno.test("loadConfig() stops on a bad HEADER_TIMEOUT_MS or MAX_CONNECTIONS with one line", () => {
  for (
    const [env, name] of [
      [{ HEADER_TIMEOUT_MS: "0" }, "HEADER_TIMEOUT_MS"],
      [{ HEADER_TIMEOUT_MS: "soon" }, "HEADER_TIMEOUT_MS"],
      [{ HEADER_TIMEOUT_MS: "99999999" }, "HEADER_TIMEOUT_MS"],
      [{ MAX_CONNECTIONS: "0" }, "MAX_CONNECTIONS"],
      [{ MAX_CONNECTIONS: "-3" }, "MAX_CONNECTIONS"],
      [{ MAX_CONNECTIONS: "many" }, "MAX_CONNECTIONS"],
      [{ MAX_CONNECTIONS: "5000" }, "MAX_CONNECTIONS"],
    ] as const
  ) {
    assert.throws(() => loadConfig(env, { openFiles: 1024 }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, new RegExp(`^Invalid ${name}: `));
      assert.equal(e.message.includes("\n"), false);
      return true;
    });
  }
  assert.throws(
    () => loadConfig({ MAX_CONNECTIONS: "900" }, { openFiles: 1024 }),
    /^ConfigError: Invalid MAX_CONNECTIONS: 900 does not fit the open-file limit of 1024 \(at most 638/,
  );
});

Deno.test("openFilesLimit() reads the soft limit, with a fallback", () => {
  const limits = [
    "Limit                     Soft Limit           Hard Limit           Units     ",
    "Max processes             94473                94473                processes ",
    "Max open files            256                  20000                files     ",
  ].join("\n");
  assert.equal(openFilesLimit(() => limits), 256);
  assert.equal(
    openFilesLimit(() => "Max open files  unlimited  unlimited  files"),
    1_048_576,
  );
  assert.equal(openFilesLimit(() => "nothing here"), FALLBACK_OPEN_FILES);
  assert.equal(
    openFilesLimit(() => {
      throw new Deno.errors.NotFound("no /proc");
    }),
    FALLBACK_OPEN_FILES,
  );
  assert.ok(openFilesLimit() >= 1);
});
