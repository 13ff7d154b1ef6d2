import assert from "node:assert/strict";
import { assignNameKeys, duplicateKey, nameKey } from "./name_key.ts";

Deno.test("nameKey() folds case and accents the way diners type them", () => {
  const same: string[][] = [
    ["Éclair", "éclair", "ÉCLAIR", "E\u0301clair", "e\u0301CLAIR"],
    ["Crème brûlée", "CRÈME BRÛLÉE", "Cre\u0300me bru\u0302le\u0301e"],
    ["Ñoquis", "ñoquis", "N\u0303OQUIS"],
    ["Çay", "ÇAY", "C\u0327ay"],
    ["Straße", "STRASSE", "strasse", "STRAẞE"],
    ["ΟΔΟΣ", "οδος", "οδοσ"],
    ["Café", "Ｃａｆé", "CAFE\u0301"],
    ["ﬁsh", "FISH", "fish"],
    ["Pizza\u00a0Margherita", "pizza margherita"],
    ["😀 Burger", "😀 BURGER"],
    ["ᾳ", "ΑΙ", "αι", "\u03b1\u0345"],
  ];
  for (const names of same) {
    for (const n of names) assert.equal(nameKey(n), nameKey(names[0]!), n);
  }
  assert.equal(nameKey("Éclair"), "éclair");
  assert.notEqual(nameKey("Eclair"), nameKey("Éclair"));
  assert.notEqual(nameKey("Ñoquis"), nameKey("Noquis"));
  assert.notEqual(nameKey("😀 Burger"), nameKey("😃 Burger"));
});

Deno.test("nameKey() makes the four Turkish i's one letter, cased either way", () => {
  for (const i of ["I", "ı", "İ", "i", "i\u0307", "I\u0307"]) {
    assert.equal(nameKey(i), "i", JSON.stringify(i));
  }
  const names = ["Sıcak", "SICAK", "sicak", "İstanbul", "ISTANBUL", "istanbul"];
  for (const n of names) {
    assert.equal(nameKey(n.toLocaleUpperCase("tr")), nameKey(n));
    assert.equal(nameKey(n.toLocaleLowerCase("tr")), nameKey(n));
  }
  assert.equal(nameKey("İSTANBUL"), nameKey("istanbul"));
  // An i with another mark keeps it, whichever casing added a dot above.
  for (const name of ["Kįšt", "Ḭ", "ị"]) {
    assert.equal(nameKey(name.toLocaleUpperCase("tr")), nameKey(name), name);
    assert.equal(nameKey(name.toUpperCase()), nameKey(name), name);
  }
  assert.notEqual(nameKey("į"), nameKey("i"));
  assert.equal(nameKey("SICAK"), nameKey("Sıcak"));
});

Deno.test("nameKey() of every code point of planes 0 and 1 is stable under casing and normalisation", () => {
  let checked = 0;
  for (let cp = 0; cp <= 0x1ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    const key = nameKey(c);
    const forms = [
      c.toUpperCase(),
      c.toLowerCase(),
      c.toLocaleUpperCase("tr"),
      c.toLocaleLowerCase("tr"),
      c.normalize("NFD"),
      key,
    ];
    for (const f of forms) {
      if (nameKey(f) !== key) {
        assert.fail(
          `U+${cp.toString(16)}: ${JSON.stringify(f)} gives a key of its own`,
        );
      }
    }
    assert.doesNotMatch(key, /[A-Z]/);
    checked++;
  }
  assert.ok(checked > 120_000);
});

Deno.test("duplicateKey() is a key no name has and unique per row", () => {
  const k = duplicateKey("éclair", 7);
  assert.notEqual(nameKey(k), k);
  assert.notEqual(k, duplicateKey("éclair", 8));
});

Deno.test("assignNameKeys() keeps the oldest row's key and disambiguates later ones", () => {
  const { keys, collisions } = assignNameKeys([
    { id: 9, name: "E\u0301CLAIR" },
    { id: 3, name: "éclair" },
    { id: 2, name: "Éclair" },
    { id: 5, name: "Tart" },
  ]);
  assert.deepEqual(keys, [
    { id: 2, key: "éclair" },
    { id: 3, key: duplicateKey("éclair", 3) },
    { id: 5, key: "tart" },
    { id: 9, key: duplicateKey("éclair", 9) },
  ]);
  assert.deepEqual(collisions.map((c) => [c.id, c.keptId, c.keptName]), [
    [3, 2, "Éclair"],
    [9, 2, "Éclair"],
  ]);
  assert.equal(new Set(keys.map((k) => k.key)).size, keys.length);
});
