import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { audited } from '../http/audited.js';
import type { FalajApp, Services } from '../http/services.js';
import { PROJECT_ROLES, parseRole } from '../http/roles.js';
import { requireUser, USERNAME_PATTERN } from '../security/auth/users.js';
import { listVisibleProjects, PROJECT_NAME_PATTERN, ProjectSchema, toProjectView } from './projects.js';

const ProjectParams = Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) });
const MemberSchema = Type.Object({ username: Type.String(), role: Type.String(), since: Type.String() });

/** Projects (the tenancy unit) and their members. */
export async function projectRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store, clock } = svc;

  app.post(
    '/api/v1/projects',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['projects'],
        summary: 'Create a project',
        body: Type.Object(
          {
            name: Type.String({ pattern: PROJECT_NAME_PATTERN }),
            description: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: ProjectSchema },
      },
    },
    async (req, reply) => {
      const project = await audited(
        svc,
        req,
        async (tx) => {
          const exists = await tx
            .selectFrom('projects')
            .select('id')
            .where('name', '=', req.body.name)
            .executeTakeFirst();
          if (exists) throw new FalajError('FALAJ_CONFLICT', `project '${req.body.name}' already exists`);
          const row = {
            id: newId(),
            name: req.body.name,
            description: req.body.description ?? '',
            created_at: clock.now(),
            created_by: req.identity!.username,
          };
          await tx.insertInto('projects').values(row).execute();
          return {
            result: toProjectView(row),
            audit: { action: 'project.create', objectType: 'project', objectId: row.name, projectId: row.id },
          };
        },
        201,
      );
      return reply.status(201).send(project);
    },
  );

  app.get(
    '/api/v1/projects',
    {
      config: { permission: 'identity' },
      schema: {
        tags: ['projects'],
        summary: 'Projects visible to the caller (all of them for the owner)',
        response: { 200: Type.Object({ projects: Type.Array(ProjectSchema) }) },
      },
    },
    async (req) => ({ projects: await listVisibleProjects(store.db, req.identity!) }),
  );

  app.get(
    '/api/v1/projects/:project',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['projects'],
        summary: 'Show a project',
        params: ProjectParams,
        response: { 200: ProjectSchema },
      },
    },
    async (req) => {
      const row = await store.db
        .selectFrom('projects')
        .selectAll()
        .where('id', '=', req.project!.id)
        .executeTakeFirstOrThrow();
      return toProjectView(row, req.project!.role);
    },
  );

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
      const rows = await store.db
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['u.username', 'm.role', 'm.created_at'])
        .where('m.project_id', '=', req.project!.id)
        .orderBy('u.username')
        .execute();
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
        const existing = await tx
          .selectFrom('memberships')
          .select('role')
          .where('project_id', '=', project.id)
          .where('user_id', '=', user.id)
          .executeTakeFirst();
        if (existing) {
          await tx
            .updateTable('memberships')
            .set({ role })
            .where('project_id', '=', project.id)
            .where('user_id', '=', user.id)
            .execute();
        } else {
          await tx
            .insertInto('memberships')
            .values({ project_id: project.id, user_id: user.id, role, created_at: now })
            .execute();
        }
        return {
          result: { username: user.username, role, since: new Date(now).toISOString() },
          audit: {
            action: 'project.member.set',
            objectType: 'membership',
            objectId: `${project.name}/${user.username}`,
            projectId: project.id,
            details: { role, previousRole: existing?.role ?? null },
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
        const res = await tx
          .deleteFrom('memberships')
          .where('project_id', '=', project.id)
          .where('user_id', '=', user.id)
          .executeTakeFirst();
        // Their tokens for this project are revoked too, so that re-adding the user later does
        // not silently bring old tokens back to life.
        await tx
          .updateTable('api_tokens')
          .set({ revoked_at: clock.now() })
          .where('project_id', '=', project.id)
          .where('user_id', '=', user.id)
          .where('revoked_at', 'is', null)
          .execute();
        if (Number(res.numDeletedRows) === 0)
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
