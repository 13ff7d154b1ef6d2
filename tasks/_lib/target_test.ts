import assert from "node:assert/strict";
import { resolve } from "node:path";
import { localFolderOf } from "./target.ts";

Deno.test("localFolderOf finds the folder of a file: database, and nothing else", () => {
  assert.equal(localFolderOf("file:///var/lib/ff/orders.db"), "/var/lib/ff");
  assert.equal(localFolderOf("file:/srv/ff.db?mode=rwc"), "/srv");
  assert.equal(localFolderOf("file:data/forkflow.db"), resolve("data"));
  assert.equal(localFolderOf("file:/a%20b/x.db"), "/a b");
  assert.equal(localFolderOf("file:/bad%zz/x.db"), undefined);
  assert.equal(localFolderOf("postgres://u@127.0.0.1/db"), undefined);
  assert.equal(localFolderOf("libsql://example.turso.io"), undefined);
});
