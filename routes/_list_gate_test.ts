import assert from "node:assert/strict";
import { UnavailableError } from "../domain/errors.ts";
import { ListGate } from "./_list_gate.ts";

/** A read that resolves when the test says so. */
function held<T>(value: T) {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let started = 0;
  return {
    read: async () => {
      started++;
      await gate;
      return value;
    },
    release,
    get started() {
      return started;
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("ListGate.run() runs at most `concurrency` reads at once", async () => {
  const gate = new ListGate({ concurrency: 2, maxQueue: 10 });
  const reads = [held(1), held(2), held(3)];
  const all = Promise.all(reads.map((r) => gate.run(r.read)));
  await tick();
  assert.deepEqual(reads.map((r) => r.started), [1, 1, 0]);
  reads[0]!.release();
  await tick();
  assert.equal(reads[2]!.started, 1);
  reads[1]!.release();
  reads[2]!.release();
  assert.deepEqual(await all, [1, 2, 3]);
});

Deno.test("ListGate.run() refuses with UnavailableError when the queue is full or the wait too long", async () => {
  const gate = new ListGate({ concurrency: 1, maxQueue: 1, maxWaitMs: 50 });
  const first = held("a");
  const running = gate.run(first.read);
  const queued = gate.run(() => Promise.resolve("b"));
  await assert.rejects(gate.run(() => Promise.resolve("c")), UnavailableError);
  await assert.rejects(queued, (e: UnavailableError) => e.retryAfterS === 1);
  first.release();
  assert.equal(await running, "a");
  assert.equal(await gate.run(() => Promise.resolve("d")), "d");
});

Deno.test("ListGate.shared() joins a read that has not started, never one already running", async () => {
  const gate = new ListGate({ concurrency: 1 });
  const blocker = held(0);
  const blocked = gate.run(blocker.read);
  let reads = 0;
  const read = () => Promise.resolve(++reads);
  // Three callers while the read waits for its turn: one read for all.
  const early = [1, 2, 3].map(() => gate.shared("k", read));
  blocker.release();
  await blocked;
  assert.deepEqual(await Promise.all(early), [1, 1, 1]);
  // Once a read has started, a newcomer gets a read of its own.
  const slow = held(0);
  const first = gate.shared("k", async () => (await slow.read(), ++reads));
  await tick();
  const second = gate.shared("k", read);
  slow.release();
  assert.deepEqual([await first, await second], [2, 3]);
  assert.equal(await gate.shared("other", read), 4);
});
