import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { postgresTestBackend } from "./_postgres.ts";
import { GroupWriter, sessionOf } from "../db/libsql/writer.ts";
import { openStore } from "../db/open.ts";
import { backendFor } from "../domain/database_url.ts";

Deno.test("backendFor() picks the backend from the URL scheme", () => {
  assert.equal(backendFor(undefined), "libsql");
  for (
    const url of [
      "file:data/forkflow.db",
      "libsql://forkflow-acme.turso.io",
      "http://127.0.0.1:8080",
      "https://db.example.com",
      "ws://127.0.0.1:8080",
      "wss://db.example.com",
    ]
  ) {
    assert.equal(backendFor(url), "libsql", url);
  }
  for (
    const url of [
      "postgres://u:p@127.0.0.1:5432/forkflow",
      "postgresql://127.0.0.1/forkflow?sslmode=disable",
      "POSTGRES://127.0.0.1/forkflow",
    ]
  ) {
    assert.equal(backendFor(url), "postgres", url);
  }
  assert.throws(() => backendFor("mysql://127.0.0.1/x"), /mysql:/);
  assert.throws(() => backendFor("postgres:/missing-slashes"));
});

Deno.test("openStore() opens an embedded file for file: URLs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "forkflow-open-" });
  try {
    const store = await openStore(`file:${dir}/nested/db.sqlite`);
    try {
      assert.equal(store.backend, "libsql");
      assert.ok((await Deno.stat(`${dir}/nested/db.sqlite`)).isFile);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore() sends libsql:/http: URLs to the remote client, not the file system", async () => {
  const cwd = Deno.cwd();
  const dir = await Deno.makeTempDir({ prefix: "forkflow-open-" });
  // A port nothing listens on: the remote client must try the network and fail.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  try {
    Deno.chdir(dir);
    for (
      const url of [
        `http://127.0.0.1:${port}`,
        `libsql://127.0.0.1:${port}?tls=0`,
      ]
    ) {
      await assert.rejects(
        openStore(url, { authToken: "secret-token" }),
        (e: Error) => /fetch|connect|refused/i.test(String(e)),
        url,
      );
    }
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing created locally");
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
  }
});

const pg = postgresTestBackend();
Deno.test({
  name: "openStore() opens PostgreSQL for postgres:// URLs",
  ignore: pg.skip !== undefined,
  async fn() {
    const db = await pg.open();
    try {
      const store = await openStore(db.url);
      try {
        assert.equal(store.backend, "postgres");
        assert.ok(await store.ping() >= 0);
      } finally {
        await store.close();
      }
    } finally {
      await db.cleanup();
    }
  },
});

/** A client that, like a remote one, goes through `client.transaction()` for sessions. */
async function fileClient() {
  const dir = await Deno.makeTempDir({ prefix: "forkflow-session-" });
  const client = createClient({ url: `file:${dir}/s.db` });
  await client.execute("CREATE TABLE t (v INTEGER NOT NULL)");
  return {
    client,
    async values() {
      return (await client.execute("SELECT v FROM t ORDER BY v")).rows.map((
        r,
      ) => Number(r.v));
    },
    async close() {
      client.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("sessionOf() keeps BEGIN … COMMIT, savepoints and ROLLBACK on one transaction", async () => {
  const db = await fileClient();
  try {
    const sql = sessionOf(db.client);
    await sql.run("BEGIN IMMEDIATE");
    await sql.run("INSERT INTO t (v) VALUES (1)");
    await sql.run("ROLLBACK");
    assert.deepEqual(await db.values(), [], "rolled back as a whole");

    await sql.run("BEGIN IMMEDIATE");
    await sql.run("SAVEPOINT job");
    await sql.run("INSERT INTO t (v) VALUES (2)");
    await sql.run("RELEASE job");
    await sql.run("SAVEPOINT job");
    await sql.run("INSERT INTO t (v) VALUES (3)");
    await sql.run("ROLLBACK TO job");
    await sql.run("RELEASE job");
    assert.deepEqual(
      await db.values(),
      [],
      "nothing visible before COMMIT",
    );
    await sql.run("COMMIT");
    assert.deepEqual(await db.values(), [2]);
    // Outside a transaction statements just run.
    assert.equal(await sql.run("INSERT INTO t (v) VALUES (4)"), 1);
    assert.deepEqual(await db.values(), [2, 4]);
  } finally {
    await db.close();
  }
});

Deno.test("the group writer over a session commits good jobs and rolls back a failing one", async () => {
  const db = await fileClient();
  try {
    await db.client.execute(
      "CREATE TABLE events (id INTEGER PRIMARY KEY, type TEXT, data TEXT, created_at INTEGER)",
    );
    let commits = 0;
    const writer = new GroupWriter(sessionOf(db.client), {
      onEvents: () => commits++,
    });
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((v) =>
        writer.run(async (tx) => {
          await tx.run("INSERT INTO t (v) VALUES (?)", [v]);
          await tx.event("test", { v });
          if (v === 3) throw new Error("job 3 fails");
          return v;
        })
      ),
    );
    await writer.close();
    assert.deepEqual(results.map((r) => r.status), [
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    assert.deepEqual(await db.values(), [1, 2, 4]);
    const events = await db.client.execute(
      "SELECT data FROM events ORDER BY id",
    );
    assert.deepEqual(events.rows.map((r) => JSON.parse(String(r.data)).v), [
      1,
      2,
      4,
    ]);
    assert.ok(commits >= 1);
  } finally {
    await db.close();
  }
});
