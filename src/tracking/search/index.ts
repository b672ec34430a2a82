// Run search with MLflow's filter grammar and order_by, compiled to parameterised SQL on SQLite
// and PostgreSQL, paged with opaque tokens. The MLflow routes and Falaj's own API call this.
import { FalajError } from '../../core/errors.js';
import type { StoreDialect } from '../../store/dialects/dialect.js';
import type { Executor } from '../../store/executor.js';
import { compileSearch, type RunViewType } from './compile.js';
import { decodePageToken, encodePageToken, fingerprint } from './page-token.js';
import { parseFilter, parseOrderBy } from './parser.js';

export type { Clause, Comparator, Entity, OrderTerm } from './parser.js';
export type { RunViewType };
export { parseFilter, parseOrderBy };

/** MLflow's ceiling for search_runs max_results. */
export const MAX_RESULTS_LIMIT = 50_000;

const VIEW_TYPES: readonly string[] = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'];

export interface SearchRunsQuery {
  projectId: string;
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  maxResults: number;
  pageToken?: string;
  viewType: RunViewType;
}

/**
 * The ids of the runs of `experimentIds` (within `projectId` only) that match `filter`, in
 * `orderBy` order (then start_time DESC, then run id), one page of at most `maxResults`.
 * Malformed input of any kind throws FALAJ_INVALID_ARGUMENT.
 */
export async function searchRunIds(
  db: Executor,
  dialect: StoreDialect,
  q: SearchRunsQuery,
): Promise<{ runIds: string[]; nextPageToken?: string }> {
  if (!Number.isSafeInteger(q.maxResults) || q.maxResults < 1 || q.maxResults > MAX_RESULTS_LIMIT)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `max_results must be an integer between 1 and ${MAX_RESULTS_LIMIT}, got ${q.maxResults}`,
    );
  if (!VIEW_TYPES.includes(q.viewType))
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `run_view_type must be one of ${VIEW_TYPES.join(', ')}`);
  const clauses = parseFilter(q.filter);
  const order = parseOrderBy(q.orderBy);
  const experimentIds = [...new Set(q.experimentIds)].sort();
  const print = fingerprint({ p: q.projectId, e: experimentIds, c: clauses, o: order, v: q.viewType });
  const offset = q.pageToken ? decodePageToken(q.pageToken, print) : 0;
  if (experimentIds.length === 0) return { runIds: [] };

  const query = compileSearch(dialect, {
    projectId: q.projectId,
    experimentIds,
    clauses,
    order,
    viewType: q.viewType,
    limit: q.maxResults + 1,
    offset,
  });
  const rows = (await query.execute(db)).rows;
  const runIds = rows.slice(0, q.maxResults).map((r) => r.id);
  return rows.length > q.maxResults
    ? { runIds, nextPageToken: encodePageToken(offset + q.maxResults, print) }
    : { runIds };
}
