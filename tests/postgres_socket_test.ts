/**
 * `DATABASE_URL` naming a Unix-socket folder the libpq way
 * (`postgres://user@/db?host=/run/postgresql`): the URL the driver gets, the
 * errors for a host that is not a folder, and a real store over the socket of
 * the test server.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { ConfigError, loadConfig } from "../config.ts";
import { openPostgresStore } from "../db/postgres/store.ts";
import { splitSocketDir } from "../domain/database_url.ts";
import { postgresTestBackend } from "./_postgres.ts";

const pg = postgresTestBackend();

Deno.test("a URL without host= is passed on unchanged", () => {
  for (
    const url of [
      "postgres://u:p@db.example:5432/forkflow",
      "postgresql://u@127.0.0.1/forkflow?sslmode=require",
    ]
  ) {
    assert.deepEqual(splitSocketDir(url), { url, socketDir: null });
  }
});

Deno.test("host= becomes the socket folder and leaves the URL", () => {
  assert.deepEqual(
    splitSocketDir("postgres://postgres@:54329/forkflow?host=%2Frun%2Fpg"),
    {
      url: "postgres://postgres@localhost:54329/forkflow",
      socketDir: "/run/pg",
    },
  );
  assert.deepEqual(
    splitSocketDir("postgres:///forkflow?sslmode=disable&host=/tmp/a%20b"),
    {
      url: "postgres://localhost/forkflow?sslmode=disable",
      socketDir: "/tmp/a b",
    },
  );
  assert.deepEqual(
    splitSocketDir("postgres://u@h/forkflow?a=1&host=/s&b=2"),
    { url: "postgres://u@h/forkflow?a=1&b=2", socketDir: "/s" },
  );
  assert.deepEqual(
    splitSocketDir("postgres://u@ignored/forkflow?host=/s&application_name=x"),
    {
      url: "postgres://u@ignored/forkflow?application_name=x",
      socketDir: "/s",
    },
  );
});

Deno.test("host= that is not an absolute folder is refused by name", () => {
  for (const bad of ["run/pg", "", "db.example"]) {
    assert.throws(
      () => splitSocketDir(`postgres://u@/forkflow?host=${bad}`),
      (e: Error) =>
        e.message.includes("socket folder") &&
        e.message.includes(`"${bad}"`),
    );
  }
});

Deno.test("host= with a broken percent-escape is refused by name, not as a bare URIError", () => {
  for (const bad of ["%2", "/tmp/%zz", "%E0%A4%A"]) {
    assert.throws(
      () => splitSocketDir(`postgres://u@/forkflow?host=${bad}`),
      (e: Error) =>
        !(e instanceof URIError) && e.message.includes("percent-escape") &&
        e.message.includes(`"${bad}"`),
    );
  }
  assert.throws(
    () => loadConfig({ DATABASE_URL: "postgres://u@/forkflow?host=%zz" }),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message.startsWith("Invalid DATABASE_URL: host= has a broken"),
  );
});

Deno.test("a DATABASE_URL with a relative host= is a config error at start", () => {
  assert.throws(
    () => loadConfig({ DATABASE_URL: "postgres://u@/forkflow?host=pg/run" }),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message.startsWith("Invalid DATABASE_URL: host= must name") &&
      e.message.includes('"pg/run"'),
  );
  const ok = "postgres://u@/forkflow?host=/var/run/postgresql";
  assert.equal(loadConfig({ DATABASE_URL: ok }).databaseUrl, ok);
});

Deno.test({
  name: "[postgres] a store over the server's Unix socket places and reads",
  ignore: pg.skip !== undefined,
  async fn() {
    const db = await pg.open();
    const tcp = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await tcp`SELECT current_setting('unix_socket_directories')
        AS dirs, current_setting('port') AS port`;
      const dir = String(row!.dirs).split(",")[0]!.trim();
      const u = new URL(db.url);
      const url = `postgres://${u.username}@:${row!.port}${u.pathname}?host=${
        encodeURIComponent(dir)
      }`;
      const store = await openPostgresStore(url);
      try {
        const item = await store.createMenuItem({
          name: "Socket Soup",
          description: "",
          priceCents: 700,
          category: "Starters",
          available: true,
          stock: null,
        });
        const placed = await store.placeOrder({
          items: [{ menuItemId: item.id, quantity: 2 }],
        });
        const order = await store.getOrder(placed.orderId);
        assert.equal(order?.totalCents, 1400);
        // Only this store uses the socket (the test database's own store
        // came over TCP), and socket connections have no client address.
        const [c] = await tcp`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND client_addr IS NULL
            AND application_name = 'forkflow'`;
        assert.ok(c!.n >= 1, "no connection came over the socket");
      } finally {
        await store.close();
      }
    } finally {
      await tcp.end({ timeout: 1 });
      await db.cleanup();
    }
  },
});
