import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp, Services } from '../../http/services.js';
import { PROJECT_NAME_PATTERN } from '../../projects/projects.js';
import { MAX_LIMIT, projectIdByName, queryAudit } from './audit-query.js';

const AuditEventSchema = Type.Object({
  seq: Type.Integer(),
  id: Type.String(),
  time: Type.String({ description: 'ISO-8601' }),
  actor: Type.String({ description: "'user:<name>', 'token:<id>:<user>', 'anonymous' or 'system'" }),
  action: Type.String(),
  objectType: Type.String(),
  objectId: Type.String(),
  project: Type.Union([Type.String(), Type.Null()], { description: 'project name, when the event has one' }),
  projectId: Type.Union([Type.String(), Type.Null()]),
  sourceIp: Type.String(),
  outcome: Type.String({ description: 'success | failure | denied' }),
  status: Type.Integer({ description: 'HTTP status of the request (0 for events outside a request)' }),
  requestId: Type.String(),
  details: Type.Unknown(),
  prevHash: Type.String(),
  hash: Type.String(),
});

const Filters = {
  actor: Type.Optional(Type.String({ maxLength: 200, description: "exact actor, e.g. 'user:alice'" })),
  action: Type.Optional(
    Type.String({
      maxLength: 200,
      description: "exact action, or a prefix ending in '*' (e.g. 'project.*')",
    }),
  ),
  outcome: Type.Optional(
    Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')]),
  ),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'events at or after this time' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'events at or before this time' })),
  after: Type.Optional(
    Type.Integer({
      minimum: 0,
      description:
        "paging cursor: the `next` of the previous page (events beyond this seq in the page's order)",
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 100 })),
  order: Type.Optional(
    Type.Union([Type.Literal('newest'), Type.Literal('oldest')], {
      default: 'newest',
      description: 'newest-first (default) or oldest-first',
    }),
  ),
};

const GlobalQuery = Type.Object(
  {
    project: Type.Optional(Type.String({ pattern: PROJECT_NAME_PATTERN, description: 'project name' })),
    ...Filters,
  },
  { additionalProperties: false },
);
const ProjectQuery = Type.Object(Filters, { additionalProperties: false });

const PageSchema = Type.Object({
  events: Type.Array(AuditEventSchema),
  next: Type.Optional(Type.Integer({ description: 'pass as `after` to get the next page' })),
});

/** The audit trail, read-only: the platform owner sees everything, a project's admins their project. */
export async function auditRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store } = svc;

  app.get(
    '/api/v1/audit',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['audit'],
        summary: 'The audit trail of the whole platform, filtered and paged',
        querystring: GlobalQuery,
        response: { 200: PageSchema },
      },
    },
    async (req) => {
      const projectId =
        req.query.project === undefined ? undefined : await projectIdByName(store.db, req.query.project);
      return queryAudit(store.db, req.query, projectId);
    },
  );

  app.get(
    '/api/v1/projects/:project/audit',
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: ['audit'],
        summary: "The audit trail of one project (its admins'), filtered and paged",
        params: Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) }),
        querystring: ProjectQuery,
        response: { 200: PageSchema },
      },
    },
    async (req) => queryAudit(store.db, req.query, req.project!.id),
  );
}
