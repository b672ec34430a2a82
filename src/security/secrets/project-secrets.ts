import { FalajError } from '../../core/errors.js';
import type { Executor } from '../../store/executor.js';
import type { Keyring } from './keyring.js';

export const SECRET_NAME = /^[A-Za-z0-9_.-]{1,200}$/;

/** Binds a sealed value to its project and name: moved to another row, it does not open. */
export function secretContext(projectId: string, name: string): string {
  return `project-secret|${projectId}|${name}`;
}

export async function putSecret(
  tx: Executor,
  keyring: Keyring,
  p: { projectId: string; name: string; value: string; user: string; now: number },
): Promise<'created' | 'replaced'> {
  const sealed = keyring.wrap(Buffer.from(p.value, 'utf8'), secretContext(p.projectId, p.name));
  const existing = await tx
    .selectFrom('project_secrets')
    .select('name')
    .where('project_id', '=', p.projectId)
    .where('name', '=', p.name)
    .executeTakeFirst();
  await tx
    .insertInto('project_secrets')
    .values({
      project_id: p.projectId,
      name: p.name,
      sealed,
      created_by: p.user,
      created_at: p.now,
      updated_at: p.now,
    })
    .onConflict((oc) => oc.columns(['project_id', 'name']).doUpdateSet({ sealed, updated_at: p.now }))
    .execute();
  return existing ? 'replaced' : 'created';
}

/** A project's secrets, by name: names and who and when, never the sealed values. */
export async function listSecrets(db: Executor, projectId: string) {
  return db
    .selectFrom('project_secrets')
    .select(['name', 'created_by', 'updated_at'])
    .where('project_id', '=', projectId)
    .orderBy('name')
    .execute();
}

/** Deletes a secret; false if the project has none of that name. */
export async function deleteSecret(db: Executor, projectId: string, name: string): Promise<boolean> {
  const res = await db
    .deleteFrom('project_secrets')
    .where('project_id', '=', projectId)
    .where('name', '=', name)
    .executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Names that do not exist in the project, for a clear error before a job is accepted. */
export async function missingSecrets(
  db: Executor,
  projectId: string,
  names: readonly string[],
): Promise<string[]> {
  if (names.length === 0) return [];
  const found = new Set(
    (
      await db
        .selectFrom('project_secrets')
        .select('name')
        .where('project_id', '=', projectId)
        .where('name', 'in', [...names])
        .execute()
    ).map((r) => r.name),
  );
  return names.filter((n) => !found.has(n));
}

/** Environment variable → value for a job's `secrets` references (at launch only; never stored elsewhere). */
export async function resolveSecrets(
  db: Executor,
  keyring: Keyring,
  projectId: string,
  refs: Readonly<Record<string, string>>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [env, name] of Object.entries(refs)) {
    const row = await db
      .selectFrom('project_secrets')
      .select('sealed')
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row)
      throw new FalajError('FALAJ_INVALID_ARGUMENT', `secret '${name}' does not exist in the project`, {
        secret: name,
      });
    out[env] = keyring.unwrap(row.sealed, secretContext(projectId, name)).toString('utf8');
  }
  return out;
}
