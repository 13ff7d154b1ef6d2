import assert from "node:assert/strict";
import fc from "fast-check";
import { ByteCounter } from "./kitchen_streams.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

/** Splits `text` at `cuts` (positions, any order) and counts chunk by chunk. */
function countInChunks(pattern: string, text: string, cuts: number[]): number {
  const all = bytes(text);
  const at = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) =>
    a - b
  );
  const counter = new ByteCounter(pattern);
  let n = 0;
  let from = 0;
  for (const to of [...at, all.length]) {
    n += counter.count(all.subarray(from, to));
    from = to;
  }
  return n;
}

Deno.test("ByteCounter counts whole event lines, however the stream is cut", () => {
  const event = (id: number, type: string) =>
    `id: ${id}\nevent: ${type}\ndata: {"id":${id},"note":"event: order.created"}\n\n`;
  const text = [
    event(1, "order.created"),
    event(2, "order.updated"),
    event(3, "order.created"),
    event(4, "order.created.later"),
    event(5, "order.created"),
  ].join("");
  const pattern = "\nevent: order.created\n";
  assert.equal(countInChunks(pattern, text, []), 3);
  // Every single-byte chunk, and every cut through the pattern.
  assert.equal(
    countInChunks(
      pattern,
      text,
      Array.from({ length: text.length }, (_, i) => i),
    ),
    3,
  );
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
      assert.equal(countInChunks(pattern, text, cuts), 3);
    }),
  );
});

Deno.test("ByteCounter agrees with a text search on arbitrary input", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom("ab", "a", "b", "aab", "c"), { maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (parts, cuts) => {
        const text = parts.join("");
        // Overlapping occurrences count, as a byte search finds them.
        let expected = 0;
        for (
          let i = text.indexOf("aab");
          i >= 0;
          i = text.indexOf("aab", i + 1)
        ) {
          expected++;
        }
        assert.equal(countInChunks("aab", text, cuts), expected);
      },
    ),
  );
  assert.throws(() => new ByteCounter("a"), RangeError);
});
