import { FalajError } from '../../core/errors.js';
import type { Identity, ProjectAccess } from '../../http/identity.js';
import { type Permission, parsePermission } from '../../http/permissions.js';
import { INVOKE_ROLE, isProjectRole, minRole, type ProjectRole, roleAtLeast } from '../../http/roles.js';
import type { Executor } from '../../store/executor.js';

const denied = (why: string) => new FalajError('FALAJ_FORBIDDEN', why);

/**
 * Decides whether `identity` may use a route declaring `permission`. Throws 401/403; returns
 * the addressed project for project-scoped permissions. Deny by default: every branch that
 * does not positively grant access throws.
 */
export async function authorize(
  db: Executor,
  identity: Identity | null,
  permission: Permission,
  projectName: string | undefined,
): Promise<ProjectAccess | null> {
  const rule = parsePermission(permission);
  if (rule.scope === 'public') return null;
  if (!identity)
    throw new FalajError(
      'FALAJ_UNAUTHENTICATED',
      'authentication required: send Authorization: Bearer <token>',
    );
  if (identity.mfaPending && rule.scope !== 'mfa-setup') {
    throw new FalajError(
      'FALAJ_MFA_REQUIRED',
      'MFA is required: enrol with `falaj mfa enroll` before anything else',
    );
  }
  // An agent token runs jobs it is handed and nothing else: no reads, no project access.
  if (identity.kind === 'agent' && rule.scope !== 'agent')
    throw denied('an agent token is only for the agent protocol (falaj agent)');
  // An invoke token calls deployments and nothing else.
  if (identity.token?.role === INVOKE_ROLE && rule.scope !== 'invoke')
    throw denied('an invoke token only calls deployments (/serving/...)');
  switch (rule.scope) {
    case 'agent':
      if (identity.kind === 'agent' || (identity.kind === 'session' && identity.isOwner)) return null;
      throw denied('this route needs an agent token or the platform owner');
    case 'identity':
      return null;
    case 'session':
    case 'mfa-setup':
      if (identity.kind !== 'session') throw denied('this route needs a user session, not an API token');
      return null;
    case 'owner':
      if (identity.kind !== 'session' || !identity.isOwner)
        throw denied('this route needs the platform owner');
      return null;
    case 'project':
      if (rule.sessionOnly && identity.kind !== 'session')
        throw denied('this route needs a user session, not an API token');
      return authorizeProject(db, identity, rule.role ?? 'admin', projectName);
    case 'invoke':
      // Any member may call the project's deployments; so may its invoke tokens.
      return authorizeProject(db, identity, 'viewer', projectName);
  }
}

async function authorizeProject(
  db: Executor,
  identity: Identity,
  needed: ProjectRole,
  projectName: string | undefined,
): Promise<ProjectAccess> {
  // No project named (the MLflow API has no project in its URLs): an API token works on its
  // own project; a session must say which one with the X-Falaj-Project header.
  if (!projectName && identity.kind === 'token' && identity.token) {
    const own = await db
      .selectFrom('projects')
      .select('name')
      .where('id', '=', identity.token.projectId)
      .executeTakeFirst();
    projectName = own?.name;
  }
  if (!projectName) {
    throw denied(
      'no project named: use a project API token, or send the X-Falaj-Project header with a session',
    );
  }
  const row = await db
    .selectFrom('projects as p')
    .leftJoin('memberships as m', (j) =>
      j.onRef('m.project_id', '=', 'p.id').on('m.user_id', '=', identity.userId),
    )
    .select(['p.id', 'p.name', 'm.role'])
    .where('p.name', '=', projectName)
    .executeTakeFirst();
  // A caller without access learns nothing about whether the project exists.
  const noAccess = () => denied(`no access to project '${projectName}'`);
  if (!row) {
    if (identity.isOwner && identity.kind === 'session')
      throw new FalajError('FALAJ_NOT_FOUND', `project '${projectName}' does not exist`);
    throw noAccess();
  }
  let role: ProjectRole | null = identity.isOwner
    ? 'admin'
    : row.role && isProjectRole(row.role)
      ? row.role
      : null;
  if (identity.kind === 'token' && identity.token) {
    if (identity.token.projectId !== row.id) throw noAccess();
    // A token never carries more than its owner holds today: demoting a user demotes their tokens.
    // An invoke token acts as a viewer on the one route kind that admits it (authorize above).
    const carried = identity.token.role === INVOKE_ROLE ? 'viewer' : identity.token.role;
    role = role ? minRole(role, carried) : null;
  }
  if (!role) throw noAccess();
  if (!roleAtLeast(role, needed))
    throw denied(`needs role '${needed}' on project '${projectName}', caller has '${role}'`);
  return { id: row.id, name: row.name, role };
}
