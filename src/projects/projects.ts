import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Identity } from '../http/identity.js';
import type { Executor } from '../store/executor.js';
import type { ProjectsTable } from '../store/schema.js';

export const PROJECT_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';

export const ProjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
  role: Type.Optional(Type.String()),
});

export function toProjectView(
  row: { id: string; name: string; description: string; created_at: number; created_by: string },
  role?: string | null,
) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: new Date(row.created_at).toISOString(),
    createdBy: row.created_by,
    ...(role ? { role } : {}),
  };
}

/** The owner sees every project; a user their memberships; a token only its own project. */
export async function listVisibleProjects(db: Executor, identity: Identity) {
  let q = db
    .selectFrom('projects as p')
    .leftJoin('memberships as m', (j) =>
      j.onRef('m.project_id', '=', 'p.id').on('m.user_id', '=', identity.userId),
    )
    .select(['p.id', 'p.name', 'p.description', 'p.created_at', 'p.created_by', 'm.role'])
    .orderBy('p.name');
  if (identity.kind === 'token') q = q.where('p.id', '=', identity.token!.projectId);
  if (!identity.isOwner) q = q.where('m.role', 'is not', null);
  const rows = await q.execute();
  return rows.map((r) =>
    toProjectView(r, identity.isOwner && identity.kind === 'session' ? (r.role ?? 'admin') : r.role),
  );
}

/** Creates a project; FALAJ_CONFLICT when the name is taken. */
export async function createProject(
  tx: Executor,
  p: { name: string; description: string; createdBy: string; now: number },
): Promise<ProjectsTable> {
  const exists = await tx.selectFrom('projects').select('id').where('name', '=', p.name).executeTakeFirst();
  if (exists) throw new FalajError('FALAJ_CONFLICT', `project '${p.name}' already exists`);
  const row = {
    id: newId(),
    name: p.name,
    description: p.description,
    created_at: p.now,
    created_by: p.createdBy,
  };
  await tx.insertInto('projects').values(row).execute();
  return row;
}

/** A project known to exist (the request's project, say): its row. */
export async function getProject(db: Executor, id: string): Promise<ProjectsTable> {
  return db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}
