// The members of a project and their roles: anyone in the project sees them, its admins change them.
import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../core/errors.js';
import { audited } from '../http/audited.js';
import { PROJECT_ROLES, parseRole } from '../http/roles.js';
import type { FalajApp, Services } from '../http/services.js';
import { requireUser, USERNAME_PATTERN } from '../security/auth/users.js';
import { listMembers, removeMembership, setMembership } from './memberships.js';
import { PROJECT_NAME_PATTERN } from './projects.js';

const ProjectParams = Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) });
const MemberSchema = Type.Object({ username: Type.String(), role: Type.String(), since: Type.String() });

/** Members of a project: list; add, change a role, remove (project admins). */
export async function projectMemberRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store, clock } = svc;

  app.get(
    '/api/v1/projects/:project/members',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['projects'],
        summary: 'Members of a project and their roles',
        params: ProjectParams,
        response: { 200: Type.Object({ members: Type.Array(MemberSchema) }) },
      },
    },
    async (req) => {
      const rows = await listMembers(store.db, req.project!.id);
      return {
        members: rows.map((r) => ({
          username: r.username,
          role: r.role,
          since: new Date(r.created_at).toISOString(),
        })),
      };
    },
  );

  app.put(
    '/api/v1/projects/:project/members/:username',
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: ['projects'],
        summary: 'Add a member or change their role',
        params: Type.Object({
          project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
          username: Type.String({ pattern: USERNAME_PATTERN }),
        }),
        body: Type.Object(
          { role: Type.Union(PROJECT_ROLES.map((r) => Type.Literal(r))) },
          { additionalProperties: false },
        ),
        response: { 200: MemberSchema },
      },
    },
    async (req) =>
      audited(svc, req, async (tx) => {
        const role = parseRole(req.body.role);
        const user = await requireUser(tx, req.params.username);
        const project = req.project!;
        const now = clock.now();
        const previousRole = await setMembership(tx, { projectId: project.id, userId: user.id, role, now });
        return {
          result: { username: user.username, role, since: new Date(now).toISOString() },
          audit: {
            action: 'project.member.set',
            objectType: 'membership',
            objectId: `${project.name}/${user.username}`,
            projectId: project.id,
            details: { role, previousRole },
          },
        };
      }),
  );

  app.delete(
    '/api/v1/projects/:project/members/:username',
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: ['projects'],
        summary: 'Remove a member (their tokens for the project stop working)',
        params: Type.Object({
          project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
          username: Type.String({ pattern: USERNAME_PATTERN }),
        }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await audited(svc, req, async (tx) => {
        const user = await requireUser(tx, req.params.username);
        const project = req.project!;
        const wasMember = await removeMembership(tx, {
          projectId: project.id,
          userId: user.id,
          now: clock.now(),
        });
        if (!wasMember)
          throw new FalajError('FALAJ_NOT_FOUND', `'${user.username}' is not a member of '${project.name}'`);
        return {
          result: null,
          audit: {
            action: 'project.member.remove',
            objectType: 'membership',
            objectId: `${project.name}/${user.username}`,
            projectId: project.id,
          },
        };
      });
      return reply.status(204).send(null);
    },
  );
}
