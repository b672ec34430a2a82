import type { Executor } from '../../store/executor.js';

/**
 * Takes or renews the named lease for `holder` until now + ttl: one statement, so two servers
 * racing for it cannot both win (the row's unique name decides). Returns whether `holder` has it.
 */
export async function acquireLease(
  db: Executor,
  name: string,
  holder: string,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  const res = await db
    .insertInto('leases')
    .values({ name, holder, expires_at: now + ttlMs })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet((eb) => ({
          holder: eb.ref('excluded.holder'),
          expires_at: eb.ref('excluded.expires_at'),
        }))
        .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<', now)])),
    )
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
}

/** Gives the lease up (on shutdown), if `holder` has it. */
export async function releaseLease(db: Executor, name: string, holder: string): Promise<void> {
  await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
}
