/**
 * The key that decides when two names are "the same name": menu items,
 * inventory items and vending products are unique by it, and a table order's
 * free-text line is linked to the menu item with the same key. Written once
 * here; the databases only store and compare it (SQLite's `lower()` and
 * `NOCASE` fold ASCII only, and PostgreSQL's `lower()` depends on the
 * cluster's `lc_ctype`, a no-op on non-ASCII under `C`).
 */

const ASCII = /^\p{ASCII}*$/u;
/** A name reaches its key in one or two rounds; the bound only guards against a surprise. */
const MAX_ROUNDS = 8;

/** An "I" with the marks that follow it (NFD). */
const CAPITAL_I_SEQUENCE = /I\p{M}+/gu;

function foldRound(s: string): string {
  // Upper then lower case is full case folding: "ß" → "SS" → "ss", like
  // "ẞ" and "SS"; "ς" and "σ" both go through "Σ". The dot above goes from
  // every capital I ("İ" is "I" + U+0307 in NFD, and a Turkish upper case
  // gives "į" one too) so that the Turkish i's all meet (see `nameKey`).
  const upper = s.toUpperCase().normalize("NFD")
    .replace(CAPITAL_I_SEQUENCE, (seq) => seq.replaceAll("\u0307", ""));
  return upper.toLowerCase().normalize("NFKC");
}

/**
 * The matching and uniqueness key of a name: NFKC, then full case folding
 * (upper then lower case, with JavaScript's locale-independent mappings)
 * until nothing changes — close to Unicode's NFKC_Casefold for identifiers.
 *
 * - NFKC, not NFC: "Éclair" typed precomposed or as "E" + U+0301 (NFD) are one
 *   name, and so are compatibility forms a keyboard or IME may produce
 *   ("Ｃａｆé" fullwidth, the "ﬁ" ligature, a no-break space).
 * - Case folding, not lower case only: "STRASSE", "Straße" and "STRAẞE" are
 *   one name, and so are "ΟΔΟΣ", "οδος" and "οδοσ".
 * - Turkish i: "I", "ı", "İ" and "i" (and "i" + U+0307) all give "i", and
 *   an i with other marks keeps them but not a dot above ("į", "Į̇"), so a
 *   name matches itself whether it was cased the Turkish way ("SICAK" ↔
 *   "Sıcak", "İSTANBUL" ↔ "istanbul") or the default way. The cost: names
 *   that differ only in the dot of an i ("Kır", "Kir") are the same name.
 *
 * For every name `s`, `nameKey(s)` equals the key of `s.toUpperCase()`,
 * `s.toLowerCase()`, their Turkish forms and `s.normalize("NFD")`, and
 * `nameKey(nameKey(s)) === nameKey(s)`. A key never contains an ASCII
 * capital letter. Names are not trimmed here: the schemas trim them.
 *
 * One exception, as in Unicode's own caseless matching: U+0345 (the Greek
 * iota subscript of "ᾳ") next to another combining mark. Upper case turns it
 * into a letter, "Ι", and whether the other mark ends up on that letter or
 * on the one before depends on the normalisation the text had, so such
 * spellings can differ. "ᾳ", "ΑΙ" and "αι" alone are one name.
 */
export function nameKey(name: string): string {
  // Hot path (every priced order builds a lookup): ASCII only folds A–Z.
  if (ASCII.test(name)) return name.toLowerCase();
  let key = name.normalize("NFKC");
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = foldRound(key);
    if (next === key) break;
    key = next;
  }
  return key;
}

/**
 * The key given to row `id` when an older row has its name key (only rows
 * stored before keys existed can). The row id keeps it unique, and its
 * capital letters make it a key no name produces: it never matches an order
 * line nor blocks a new name.
 */
export function duplicateKey(key: string, id: number): string {
  return `${key} [DUPLICATE ${id}]`;
}

/**
 * The key to store when a row's name changes from `before` to `after`, or
 * null to keep the stored one: an edit that keeps the name must not collide
 * over a `duplicateKey` kept from before keys existed.
 */
export function renamedKey(before: string, after: string): string | null {
  return after === before ? null : nameKey(after);
}

/** A stored row with a name, for `assignNameKeys`. */
export interface NamedRow {
  id: number;
  name: string;
}

/** A row that lost its name key to an older row with the same key. */
export interface KeyCollision {
  id: number;
  name: string;
  /** The key it was given instead (`duplicateKey`). */
  key: string;
  /** The older row that keeps the key. */
  keptId: number;
  keptName: string;
}

/**
 * Keys for existing rows. The oldest row (smallest id) of a set sharing a
 * key keeps it; each later one gets `duplicateKey`, and is reported so that
 * whoever runs the migration can rename or delete it. No row is changed
 * otherwise, and none is dropped: orders may refer to every one of them.
 */
export function assignNameKeys(rows: NamedRow[]): {
  keys: { id: number; key: string }[];
  collisions: KeyCollision[];
} {
  const keys: { id: number; key: string }[] = [];
  const collisions: KeyCollision[] = [];
  const owner = new Map<string, NamedRow>();
  for (const row of [...rows].sort((a, b) => a.id - b.id)) {
    const key = nameKey(row.name);
    const kept = owner.get(key);
    if (!kept) {
      owner.set(key, row);
      keys.push({ id: row.id, key });
      continue;
    }
    const renamed = duplicateKey(key, row.id);
    keys.push({ id: row.id, key: renamed });
    collisions.push({
      id: row.id,
      name: row.name,
      key: renamed,
      keptId: kept.id,
      keptName: kept.name,
    });
  }
  return { keys, collisions };
}
