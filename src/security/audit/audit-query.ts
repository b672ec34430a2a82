import { sql } from 'kysely';
import { FalajError } from '../../core/errors.js';
import type { Executor } from '../../store/executor.js';

// Reading the audit trail: filtered, paged, newest or oldest first. Writing it is audit-log.ts.

/** The most events one page may hold. */
export const MAX_LIMIT = 1000;

/** The filters and paging of a read of the trail (the routes' query string). */
export interface AuditQuery {
  actor?: string | undefined;
  /** An exact action, or a prefix ending in '*'. */
  action?: string | undefined;
  outcome?: 'success' | 'failure' | 'denied' | undefined;
  /** ISO 8601 times, both ends included. */
  since?: string | undefined;
  until?: string | undefined;
  /** The paging cursor: the `next` of the previous page. */
  after?: number | undefined;
  limit?: number | undefined;
  order?: 'newest' | 'oldest' | undefined;
}

/** The id of the project named `name`, for a filter on the whole trail; FALAJ_NOT_FOUND if none. */
export async function projectIdByName(db: Executor, name: string): Promise<string> {
  const p = await db.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst();
  if (!p) throw new FalajError('FALAJ_NOT_FOUND', `project '${name}' does not exist`);
  return p.id;
}

function toMs(iso: string | undefined, name: string): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms))
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `${name} is not a valid time: '${iso}'`);
  return ms;
}

export async function queryAudit(db: Executor, query: AuditQuery, projectId: string | undefined) {
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
