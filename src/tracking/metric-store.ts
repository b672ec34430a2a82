import { CompiledQuery } from 'kysely';
import type { Executor } from '../security/audit-log.js';
import type { Dialect } from '../store/dialect.js';
import { chunks } from './chunks.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { invalid } from './validation.js';

export interface MetricPoint {
  key: string;
  /** NaN and ±Infinity are kept. */
  value: number;
  timestamp: number;
  step: number;
}

// Six parameters per row: 5000 rows stay under SQLite's 32766 bound parameters (and
// PostgreSQL's 65535). A log-batch holds at most 1000 metrics, so it is one statement.
const ROWS_PER_INSERT = 5000;
const COLUMNS = '("run_id", "key", "step", "timestamp", "value", "is_nan")';

// The SQL text per (dialect, table, row count), built once: building a 1000-row statement
// through the query builder costs more than SQLite takes to run it, and the same text lets
// the store's statement cache reuse the prepared statement.
const sqlCache = new Map<string, string>();

function placeholders(dialect: Dialect, rows: number): string {
  const parts: string[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    if (dialect === 'sqlite') parts[r] = '(?, ?, ?, ?, ?, ?)';
    else {
      const b = r * 6;
      parts[r] = `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6})`;
    }
  }
  return parts.join(', ');
}

function insertSql(dialect: Dialect, rows: number): string {
  const cacheKey = `${dialect}:metrics:${rows}`;
  let text = sqlCache.get(cacheKey);
  if (!text) {
    text = `insert into "metrics" ${COLUMNS} values ${placeholders(dialect, rows)}`;
    sqlCache.set(cacheKey, text);
  }
  return text;
}

// The latest value of a key: the greatest step, then the greatest timestamp, then the
// greatest value (NaN below every number). Only a newer point replaces the stored one.
function upsertLatestSql(dialect: Dialect, rows: number): string {
  const cacheKey = `${dialect}:latest:${rows}`;
  let text = sqlCache.get(cacheKey);
  if (!text) {
    text =
      `insert into "latest_metrics" ${COLUMNS} values ${placeholders(dialect, rows)} ` +
      `on conflict ("run_id", "key") do update set "step" = excluded."step", "timestamp" = excluded."timestamp", ` +
      `"value" = excluded."value", "is_nan" = excluded."is_nan" ` +
      `where excluded."step" > "latest_metrics"."step" or (excluded."step" = "latest_metrics"."step" and ` +
      `(excluded."timestamp" > "latest_metrics"."timestamp" or (excluded."timestamp" = "latest_metrics"."timestamp" and ` +
      `excluded."is_nan" = 0 and ("latest_metrics"."is_nan" = 1 or excluded."value" > "latest_metrics"."value"))))`;
    sqlCache.set(cacheKey, text);
  }
  return text;
}

/** Whether `a` is a later point than `b` in the latest-value order above. */
function later(a: MetricPoint, b: MetricPoint): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  if (Number.isNaN(a.value)) return false;
  return Number.isNaN(b.value) || a.value > b.value;
}

function pushRow(params: unknown[], runId: string, p: MetricPoint): void {
  const nan = Number.isNaN(p.value);
  params.push(runId, p.key, p.step, p.timestamp, nan ? null : p.value, nan ? 1 : 0);
}

/**
 * Appends points to a run's history and moves its latest values forward, in the caller's
 * transaction: a multi-row insert per 5000 points and one upsert of the batch's latest point
 * per key.
 */
export async function insertMetrics(
  tx: Executor,
  dialect: Dialect,
  runId: string,
  points: readonly MetricPoint[],
): Promise<void> {
  if (points.length === 0) return;
  const latest = new Map<string, MetricPoint>();
  for (const p of points) {
    const seen = latest.get(p.key);
    if (!seen || later(p, seen)) latest.set(p.key, p);
  }
  for (const part of chunks(points, ROWS_PER_INSERT)) {
    const params: unknown[] = [];
    for (const p of part) pushRow(params, runId, p);
    await tx.executeQuery(CompiledQuery.raw(insertSql(dialect, part.length), params));
  }
  for (const part of chunks([...latest.values()], ROWS_PER_INSERT)) {
    const params: unknown[] = [];
    for (const p of part) pushRow(params, runId, p);
    await tx.executeQuery(CompiledQuery.raw(upsertLatestSql(dialect, part.length), params));
  }
}

function pointOf(r: {
  key: string;
  step: number;
  timestamp: number;
  value: number | null;
  is_nan: number;
}): MetricPoint {
  return {
    key: r.key,
    step: Number(r.step),
    timestamp: Number(r.timestamp),
    value: r.is_nan ? Number.NaN : Number(r.value),
  };
}

/**
 * One key's history, ordered by step then timestamp, in pages. The token holds the last
 * (step, timestamp) returned and how many points of that pair were returned already, so a
 * page starts with an index seek instead of an OFFSET over the whole history.
 */
export async function metricHistory(
  db: Executor,
  runId: string,
  key: string,
  maxResults: number,
  pageToken: unknown,
): Promise<{ metrics: MetricPoint[]; nextPageToken?: string }> {
  const state = decodePageToken(pageToken);
  let q = db
    .selectFrom('metrics')
    .select(['key', 'step', 'timestamp', 'value', 'is_nan'])
    .where('run_id', '=', runId)
    .where('key', '=', key);
  let skip = 0;
  if (state) {
    const { s, t, n } = state;
    if (![s, t, n].every((v) => typeof v === 'number' && Number.isSafeInteger(v)) || (n as number) < 0)
      throw invalid('Invalid page token');
    // A row comparison, not `step > s or (step = s and timestamp >= t)`: PostgreSQL turns it
    // into one index range on (run_id, key, step, timestamp); the OR form it did not.
    q = q.where((eb) => eb(eb.refTuple('step', 'timestamp'), '>=', eb.tuple(s as number, t as number)));
    skip = n as number;
  }
  const rows = await q
    .orderBy('step')
    .orderBy('timestamp')
    .limit(maxResults + 1)
    .offset(skip)
    .execute();
  const metrics = rows.slice(0, maxResults).map(pointOf);
  if (rows.length <= maxResults) return { metrics };
  const last = metrics[metrics.length - 1]!;
  // Points already returned that share the last (step, timestamp), earlier pages included.
  let n = 0;
  for (
    let i = metrics.length - 1;
    i >= 0 && metrics[i]!.step === last.step && metrics[i]!.timestamp === last.timestamp;
    i--
  )
    n++;
  if (state && state.s === last.step && state.t === last.timestamp) n += skip;
  return { metrics, nextPageToken: encodePageToken({ s: last.step, t: last.timestamp, n }) };
}
