/** Exactly-once effects on libSQL: the key is checked and stored inside the writer job. */
import { type IdemKey, keyReused } from "../../domain/idempotency.ts";
import type { WriteTx } from "./writer.ts";

/** A response to remember under a key. */
export interface Outcome {
  status: number;
  body: unknown;
  resourceId: number;
}

/**
 * Runs `effect` once per key: a replay answers the stored outcome, a key reused
 * with another body is a 422. Must run inside a writer job, so the check, the
 * effect and the stored key commit together.
 */
export async function idempotent(
  tx: WriteTx,
  idem: IdemKey | null | undefined,
  effect: () => Promise<Outcome>,
): Promise<Outcome & { replayed: boolean }> {
  if (!idem) return { ...(await effect()), replayed: false };
  const [row] = await tx.all(
    "SELECT fingerprint, status, body, resource_id FROM idempotency_keys WHERE scope = ? AND key = ?",
    [idem.scope, idem.key],
  );
  if (row) {
    if (row.fingerprint !== idem.fingerprint) throw keyReused(idem);
    return {
      status: Number(row.status),
      body: JSON.parse(String(row.body)),
      resourceId: Number(row.resource_id),
      replayed: true,
    };
  }
  const out = await effect();
  await tx.run(
    `INSERT INTO idempotency_keys (scope, key, fingerprint, status, body, resource_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [
      idem.scope,
      idem.key,
      idem.fingerprint,
      out.status,
      JSON.stringify(out.body),
      out.resourceId,
      tx.now,
    ],
  );
  return { ...out, replayed: false };
}
