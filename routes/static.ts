/** Static pages and assets, read from the repository at request time (no build step). */
import type { Context } from "hono";
import { NotFoundError } from "../domain/errors.ts";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  json: "application/json",
  mp3: "audio/mpeg",
  wav: "audio/wav",
};

const ROOT = new URL("../", import.meta.url);

/** Answers a file below the repository root, e.g. `web/docs.html`; 404 outside `dirs`. */
export async function serveFile(
  c: Context,
  relPath: string,
): Promise<Response> {
  if (
    relPath.includes("..") || relPath.includes("\\") ||
    relPath.startsWith("/") || relPath.length > 200
  ) {
    throw new NotFoundError("not_found", `No file "${relPath}"`);
  }
  const ext = relPath.slice(relPath.lastIndexOf(".") + 1).toLowerCase();
  const type = TYPES[ext];
  if (!type) throw new NotFoundError("not_found", `No file "${relPath}"`);
  try {
    const bytes = await Deno.readFile(new URL(relPath, ROOT));
    return c.body(bytes, 200, {
      "Content-Type": type,
      "Cache-Control": "no-cache",
    });
  } catch (e) {
    if (
      e instanceof Deno.errors.NotFound ||
      e instanceof Deno.errors.IsADirectory ||
      e instanceof Deno.errors.NotADirectory
    ) {
      throw new NotFoundError("not_found", `No file "${relPath}"`);
    }
    throw e;
  }
}
