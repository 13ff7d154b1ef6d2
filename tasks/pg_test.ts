import assert from "node:assert/strict";
import { join } from "node:path";
import {
  clusterStatus,
  clusterUrl,
  findPgBinDir,
  PG_DATABASE,
  startCluster,
  stopCluster,
} from "../db/postgres/cluster.ts";

const BIN_DIR = findPgBinDir();
// Without PostgreSQL locally the tests are skipped; under CI=true they must run (and fail).
const IGNORE = BIN_DIR === null && Deno.env.get("CI") !== "true";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Run one SQL statement over TCP with psql from the cluster's bin dir; returns trimmed output. */
async function psql(port: number, sql: string): Promise<string> {
  assert.ok(BIN_DIR, "PostgreSQL binaries not found");
  const out = await new Deno.Command(join(BIN_DIR, "psql"), {
    args: [
      "-X",
      "-q",
      "-t",
      "-A",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      PG_DATABASE,
      "-c",
      sql,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `psql failed: ${stderr}`);
  return new TextDecoder().decode(out.stdout).trim();
}

async function assertNotListening(port: number): Promise<void> {
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
    `something is still listening on 127.0.0.1:${port}`,
  );
}

/** True when the process exists and is not a zombie waiting to be reaped. */
function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function tempClusterDir(): Promise<string> {
  // Short path: unix socket paths are limited to 107 bytes. The cluster folder
  // itself is created by startCluster; its parent must be traversable by the
  // postgres OS user when the tests run as root.
  const parent = await Deno.makeTempDir({ prefix: "pg-" });
  await Deno.chmod(parent, 0o755);
  return join(parent, "c");
}

Deno.test({
  name: "pg: start, query, stop, restart keeps data and port",
  ignore: IGNORE,
  async fn() {
    assert.ok(
      BIN_DIR,
      "no PostgreSQL binaries on PATH or in /usr/lib/postgresql/*/bin",
    );
    const dir = await tempClusterDir();
    const port = freePort();
    const opts = { dir, port, quiet: true };
    try {
      const first = await startCluster(opts);
      assert.equal(first.running, true);
      assert.equal(first.created, true);
      assert.equal(first.alreadyRunning, false);
      assert.equal(first.port, port);
      assert.equal(first.url, `postgres://postgres@127.0.0.1:${port}/forkflow`);
      assert.equal(await clusterUrl({ dir }), first.url);

      assert.equal(await psql(port, "SELECT 1"), "1");
      assert.equal(await psql(port, "SHOW synchronous_commit"), "on");
      assert.equal(await psql(port, "SHOW fsync"), "on");
      assert.equal(await psql(port, "SHOW listen_addresses"), "127.0.0.1");
      assert.equal(await psql(port, "SHOW max_connections"), "200");
      await psql(
        port,
        "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('kept')",
      );

      // Idempotent start.
      const again = await startCluster(opts);
      assert.equal(again.alreadyRunning, true);
      assert.equal(again.url, first.url);
      assert.equal(again.pid, first.pid);

      const stopped = await stopCluster({ dir, quiet: true });
      assert.equal(stopped.wasRunning, true);
      assert.equal((await clusterStatus({ dir })).running, false);
      await assertNotListening(port);
      assert.ok(
        first.pid !== null && !processAlive(first.pid),
        "postmaster still alive",
      );
      // Stopping a stopped cluster is a no-op.
      assert.equal((await stopCluster({ dir, quiet: true })).wasRunning, false);

      // Restart without a port option: same port, same data.
      const second = await startCluster({ dir, quiet: true });
      assert.equal(second.created, false);
      assert.equal(second.port, port);
      assert.equal(await psql(port, "SELECT v FROM marker"), "kept");
    } finally {
      await stopCluster({ dir, wipe: true, quiet: true });
      await Deno.remove(join(dir, ".."), { recursive: true }).catch(() => {});
    }
    await assertNotListening(port);
  },
});

Deno.test({
  name: "pg: CLI picks a free port when the requested one is taken",
  ignore: IGNORE,
  async fn() {
    assert.ok(
      BIN_DIR,
      "no PostgreSQL binaries on PATH or in /usr/lib/postgresql/*/bin",
    );
    const dir = await tempClusterDir();
    const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const taken = (blocker.addr as Deno.NetAddr).port;
    const script = new URL("./pg.ts", import.meta.url).pathname;
    const cli = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, ...args, "--dir", dir],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout),
        stderr: new TextDecoder().decode(out.stderr),
      };
    };
    try {
      const start = await cli("start", "--port", String(taken));
      assert.equal(start.code, 0, start.stderr);
      const match =
        /^DATABASE_URL=postgres:\/\/postgres@127\.0\.0\.1:(\d+)\/forkflow\n$/
          .exec(
            start.stdout,
          );
      assert.ok(match, `unexpected stdout: ${JSON.stringify(start.stdout)}`);
      const port = Number(match[1]);
      assert.notEqual(port, taken);
      assert.equal(
        (await Deno.readTextFile(join(dir, "port"))).trim(),
        String(port),
      );

      const status = await cli("status");
      assert.deepEqual([status.code, status.stdout], [0, "running\n"]);
      const url = await cli("url");
      assert.equal(
        url.stdout,
        `postgres://postgres@127.0.0.1:${port}/forkflow\n`,
      );
      assert.equal(await psql(port, "SELECT 1"), "1");

      const stop = await cli("stop", "--wipe");
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(stop.stdout, "");
      await assertNotListening(port);
      await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);

      const after = await cli("status");
      assert.deepEqual([after.code, after.stdout], [3, "stopped\n"]);
    } finally {
      blocker.close();
      await stopCluster({ dir, wipe: true, quiet: true }).catch(() => {});
      await Deno.remove(join(dir, ".."), { recursive: true }).catch(() => {});
    }
  },
});
