/**
 * README.md and docs/*.md render as intended: a table split by a blank line
 * renders its tail as a paragraph of pipes, which `deno fmt` does not catch.
 */
import assert from "node:assert/strict";
import { Lexer, type Token } from "marked";

const ROOT = new URL("../", import.meta.url);

function markdownFiles(): URL[] {
  const files = [new URL("README.md", ROOT)];
  for (const entry of Deno.readDirSync(new URL("docs/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) {
      files.push(new URL(`docs/${entry.name}`, ROOT));
    }
  }
  return files;
}

/** Paragraphs (at any depth) whose text starts with a pipe: a broken table. */
function strayTableRows(tokens: Token[]): string[] {
  const found: string[] = [];
  for (const t of tokens) {
    if (t.type === "paragraph" && t.raw.trimStart().startsWith("|")) {
      found.push(t.raw.slice(0, 80));
    }
    const children = (t as { tokens?: Token[] }).tokens;
    if (children) found.push(...strayTableRows(children));
  }
  return found;
}

Deno.test("README.md and docs/*.md have no table broken into a paragraph", () => {
  for (const file of markdownFiles()) {
    const tokens = new Lexer().lex(Deno.readTextFileSync(file));
    assert.deepEqual(strayTableRows(tokens), [], file.pathname);
  }
});

Deno.test("the broken-table check finds a table split by a blank line", () => {
  const broken = "| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n";
  assert.equal(strayTableRows(new Lexer().lex(broken)).length, 1);
});

Deno.test("README.md stays the front door: under 15 KB", () => {
  assert.ok(Deno.statSync(new URL("README.md", ROOT)).size <= 15 * 1024);
});

Deno.test("every docs/ link in README.md names a file that exists", () => {
  const readme = Deno.readTextFileSync(new URL("README.md", ROOT));
  for (const link of readme.matchAll(/\]\((docs\/[^)#]+)\)/g)) {
    const path = link[1]!;
    assert.ok(Deno.statSync(new URL(path, ROOT)).isFile, path);
  }
});
