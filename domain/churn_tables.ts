/**
 * Tables for entries that live one request: added, looked up once or twice,
 * removed a few milliseconds later, thousands of times a second.
 *
 * A long-lived `Map` or `Set` is the wrong home for them in V8. Its hash
 * table fills with deleted slots and is rebuilt every few dozen inserts, and
 * each abandoned table keeps a pointer to its successor and to the entries
 * it held. Once one table reaches the old generation (the table of a quiet
 * moment), every successor and every entry it held survive young-generation
 * collections through that dead table and are promoted in turn, until a full
 * collection: the entries are resolvers, so whole requests (context, body,
 * answer) were promoted. Measured on the HTTP thread with `wrk -c32` on
 * `POST /orders` (libSQL, about 4,700 orders/s) and
 * `--v8-flags=--trace-gc-nvp`, over 6.5 s: these two tables and the shared
 * body getter of `db/libsql/threaded.ts` took promotion from 47–51 to 11–12 MB,
 * young-generation pauses from 136 to 70–77 ms (the longest from 7–8 to
 * 4–5 ms).
 *
 * `IdSlots` never drops storage that still points at an entry. `KeySlots`
 * leaves storage to V8, whose dropped dictionaries link to nothing: the
 * entries one held can outlive their request, but no chain forms.
 *
 * @module
 */

/**
 * Values under increasing numeric ids (calls numbered 1, 2, 3…): slot
 * `id % size` of a fixed array, cleared on removal. An id whose slot is
 * still taken by a much older id (a call that waits for seconds) goes to a
 * small overflow `Map` that only such calls touch.
 */
export class IdSlots<V> {
  readonly #ids: number[];
  readonly #values: (V | undefined)[];
  readonly #overflow = new Map<number, V>();
  readonly #mask: number;
  #size = 0;

  /** @param slots array length, a power of two (more than the calls usually in flight) */
  constructor(slots = 4096) {
    if (!Number.isInteger(Math.log2(slots))) {
      throw new RangeError(`slots must be a power of two, got ${slots}`);
    }
    this.#mask = slots - 1;
    this.#ids = new Array<number>(slots).fill(0);
    this.#values = new Array<V | undefined>(slots).fill(undefined);
  }

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** Stores `value` under `id` (a positive integer not already held). */
  set(id: number, value: V): void {
    const i = id & this.#mask;
    if (this.#ids[i] === 0) {
      this.#ids[i] = id;
      this.#values[i] = value;
    } else {
      this.#overflow.set(id, value);
    }
    this.#size++;
  }

  /** Removes the entry under `id` and returns its value (undefined when absent). */
  take(id: number): V | undefined {
    const i = id & this.#mask;
    if (this.#ids[i] === id) {
      const value = this.#values[i];
      this.#ids[i] = 0;
      this.#values[i] = undefined;
      this.#size--;
      return value;
    }
    const value = this.#overflow.get(id);
    if (this.#overflow.delete(id)) this.#size--;
    return value;
  }

  /** Removes every entry and returns their values. */
  drain(): V[] {
    const out: V[] = [];
    for (let i = 0; i <= this.#mask; i++) {
      if (this.#ids[i] !== 0) out.push(this.#values[i]!);
    }
    out.push(...this.#overflow.values());
    this.#ids.fill(0);
    this.#values.fill(undefined);
    this.#overflow.clear();
    this.#size = 0;
    return out;
  }
}

/**
 * Values under string keys, in a prototype-less object in dictionary mode:
 * V8 clears a deleted property's slot, and a rebuilt dictionary keeps no link
 * to the one that replaced it.
 */
export class KeySlots<V> {
  #entries: Record<string, V> = Object.create(null);

  /** The value under `key`, if any. */
  get(key: string): V | undefined {
    return this.#entries[key];
  }

  /** Stores `value` under `key`. */
  set(key: string, value: V): void {
    this.#entries[key] = value;
  }

  /** Removes `key`. */
  delete(key: string): void {
    delete this.#entries[key];
  }
}
