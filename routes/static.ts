/** Static pages and assets, read from the repository at request time (no build step). */
import { pathToFileURL } from "node:url";
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

/**
 * Answers a file below `root` (default: the repository), e.g. `web/docs.html`;
 * 404 for a path that climbs out or a type not listed.
 */
export async function serveFile(
  c: Context,
  relPath: string,
  root: URL = ROOT,
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
    const bytes = await Deno.readFile(new URL(relPath, root));
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

/** The folder of the npm package swagger-ui-dist, found once on first use. */
let swaggerRoot: URL | null = null;

/** Answers one of Swagger UI's two files (bundle and stylesheet) from its npm package. */
export async function serveSwaggerUi(c: Context, file: string) {
  if (!swaggerRoot) {
    const { getAbsoluteFSPath } = await import("swagger-ui-dist");
    swaggerRoot = pathToFileURL(`${getAbsoluteFSPath()}/`);
  }
  return serveFile(c, file, swaggerRoot);
}
