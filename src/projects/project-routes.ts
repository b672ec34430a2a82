import { Type } from '@fastify/type-provider-typebox';
import { audited } from '../http/audited.js';
import type { FalajApp, Services } from '../http/services.js';
import {
  createProject,
  getProject,
  listVisibleProjects,
  PROJECT_NAME_PATTERN,
  ProjectSchema,
  toProjectView,
} from './projects.js';

const ProjectParams = Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) });

/** Projects (the tenancy unit): create (owner), list, show. */
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
          const row = await createProject(tx, {
            name: req.body.name,
            description: req.body.description ?? '',
            createdBy: req.identity!.username,
            now: clock.now(),
          });
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
      const row = await getProject(store.db, req.project!.id);
      return toProjectView(row, req.project!.role);
    },
  );
}
