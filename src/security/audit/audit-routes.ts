import { type Static, Type } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { FalajError } from '../../core/errors.js';
import type { FalajApp, Services } from '../../http/services.js';
import { PROJECT_NAME_PATTERN } from '../../projects/projects.js';
import type { Executor } from '../../store/executor.js';

const MAX_LIMIT = 1000;

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

type Query = Static<typeof ProjectQuery>;

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
      let projectId: string | undefined;
      if (req.query.project !== undefined) {
        const p = await store.db
          .selectFrom('projects')
          .select('id')
          .where('name', '=', req.query.project)
          .executeTakeFirst();
        if (!p) throw new FalajError('FALAJ_NOT_FOUND', `project '${req.query.project}' does not exist`);
        projectId = p.id;
      }
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

function toMs(iso: string | undefined, name: string): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms))
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `${name} is not a valid time: '${iso}'`);
  return ms;
}

export async function queryAudit(db: Executor, query: Query, projectId: string | undefined) {
  const limit = Math.min(query.limit ?? 100, MAX_LIMIT);
  const newestFirst = (query.order ?? 'newest') === 'newest';
  const since = toMs(query.since, 'since');
  const until = toMs(query.until, 'until');

  let q = db
    .selectFrom('audit_events as e')
    .leftJoin('projects as p', 'p.id', 'e.project_id')
    .selectAll('e')
    .select('p.name as project_name');
  if (projectId !== undefined) q = q.where('e.project_id', '=', projectId);
  if (query.actor !== undefined) q = q.where('e.actor', '=', query.actor);
  if (query.action !== undefined) {
    if (query.action.endsWith('*')) {
      // A prefix match that reads the same on both dialects (LIKE differs in case and escaping).
      const prefix = query.action.slice(0, -1);
      if (prefix.length > 0) q = q.where(sql<string>`substr(e.action, 1, ${prefix.length})`, '=', prefix);
    } else q = q.where('e.action', '=', query.action);
  }
  if (query.outcome !== undefined) q = q.where('e.outcome', '=', query.outcome);
  if (since !== undefined) q = q.where('e.time', '>=', since);
  if (until !== undefined) q = q.where('e.time', '<=', until);
  if (query.after !== undefined) q = q.where('e.seq', newestFirst ? '<' : '>', query.after);
  const rows = await q
    .orderBy('e.seq', newestFirst ? 'desc' : 'asc')
    .limit(limit + 1)
    .execute();

  const page = rows.slice(0, limit);
  const events = page.map((r) => ({
    seq: r.seq,
    id: r.id,
    time: new Date(r.time).toISOString(),
    actor: r.actor,
    action: r.action,
    objectType: r.object_type,
    objectId: r.object_id,
    project: r.project_name ?? null,
    projectId: r.project_id,
    sourceIp: r.source_ip,
    outcome: r.outcome,
    status: r.status,
    requestId: r.request_id,
    details: parseDetails(r.details),
    prevHash: r.prev_hash,
    hash: r.hash,
  }));
  const last = page[page.length - 1];
  return rows.length > limit && last ? { events, next: last.seq } : { events };
}

function parseDetails(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The chain's verifier reports an altered row; the reader still sees what is stored.
    return text;
  }
}
