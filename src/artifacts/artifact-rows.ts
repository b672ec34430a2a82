// The `artifacts` table: which blob each path of a project holds. The artifact routes, the
// server's own writes (./record-artifact.ts) and other domains (a job's code snapshot) read and
// write it through these; each takes the caller's executor, so it runs in the caller's transaction.
import { sql } from 'kysely';
import { FalajError } from '../core/errors.js';
import type { Executor } from '../store/executor.js';
import type { ArtifactsTable } from '../store/schema.js';

/** The row at `artifactPath` in the project, if any. */
export async function findArtifact(
  db: Executor,
  projectId: string,
  artifactPath: string,
): Promise<ArtifactsTable | undefined> {
  return db
    .selectFrom('artifacts')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('path', '=', artifactPath)
    .executeTakeFirst();
}

/** The row at `artifactPath`, or FALAJ_NOT_FOUND naming the project. */
export async function requireArtifact(
  db: Executor,
  project: { id: string; name: string },
  artifactPath: string,
): Promise<ArtifactsTable> {
  const row = await findArtifact(db, project.id, artifactPath);
  if (!row) {
    throw new FalajError(
      'FALAJ_NOT_FOUND',
      `artifact '${artifactPath}' does not exist in '${project.name}'`,
      {
        path: artifactPath,
      },
    );
  }
  return row;
}

/** Points the row's path at a blob: a new row, or the old one replaced (the blob is written first). */
export async function upsertArtifact(tx: Executor, row: ArtifactsTable): Promise<void> {
  await tx
    .insertInto('artifacts')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['project_id', 'path']).doUpdateSet({
        digest: row.digest,
        size: row.size,
        content_type: row.content_type,
        created_at: row.created_at,
        created_by: row.created_by,
      }),
    )
    .execute();
}

/** Removes the row at `artifactPath` (its blob is the reaper's to consider). */
export async function deleteArtifactRow(
  tx: Executor,
  projectId: string,
  artifactPath: string,
): Promise<void> {
  await tx
    .deleteFrom('artifacts')
    .where('project_id', '=', projectId)
    .where('path', '=', artifactPath)
    .execute();
}

/**
 * One page of a project's rows ordered by path: those under `prefix` (a plain string prefix),
 * after the path `after`; `next` is the last path of the page when more follow, else null.
 */
export async function listArtifactPage(
  db: Executor,
  projectId: string,
  opts: { prefix?: string; after?: string; limit: number },
): Promise<{ rows: ArtifactsTable[]; next: string | null }> {
  const { prefix, after, limit } = opts;
  let q = db
    .selectFrom('artifacts')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('path')
    .limit(limit + 1);
  // substr, not LIKE: LIKE is case-insensitive on SQLite and would need escaping of % and _.
  if (prefix) q = q.where(sql<boolean>`substr(path, 1, length(cast(${prefix} as text))) = ${prefix}`);
  if (after !== undefined) q = q.where('path', '>', after);
  const rows = await q.execute();
  const page = rows.slice(0, limit);
  return { rows: page, next: rows.length > limit ? (page[page.length - 1]?.path ?? null) : null };
}

/**
 * The rows of what `artifactPath` names: the row at that path itself (a single file) or every
 * row under `artifactPath/` (a folder, such as a model directory), in path order.
 */
export async function filesAt(
  db: Executor,
  projectId: string,
  artifactPath: string,
): Promise<ArtifactsTable[]> {
  const base = artifactPath.replace(/\/+$/, '');
  const exact = await db
    .selectFrom('artifacts')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('path', '=', base)
    .executeTakeFirst();
  if (exact) return [exact];
  const prefix = `${base}/`;
  const rows = await db
    .selectFrom('artifacts')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('path', '>=', prefix)
    .where('path', '<', `${base}0`)
    .orderBy('path')
    .execute();
  return rows.filter((r) => r.path.startsWith(prefix));
}
