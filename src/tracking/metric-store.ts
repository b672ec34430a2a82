import { CompiledQuery, sql } from 'kysely';
import type { StoreDialect } from '../store/dialects/dialect.js';
import type { Executor } from '../store/executor.js';
import { chunks } from './chunks.js';
import { decodeChunk, encodeChunk, mergeChunks, type Series } from './metric-chunk.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { invalid } from './validation.js';

export interface MetricPoint {
  key: string;
  /** NaN and ±Infinity are kept. */
  value: number;
  timestamp: number;
  step: number;
}

// A chunk row holds six parameters; a log-batch has at most 1000 keys, far below SQLite's
// 32766 bound parameters (and PostgreSQL's 65535) per statement.
const ROWS_PER_INSERT = 5000;
// Single points logged one call at a time (MLflow's log_metric per step) are appended to the
// key's last chunk while it holds fewer than this many points, so that history reads stay a
// few rows per page however the client logs. Only small groups in small batches take that
// read-modify-write path: a batch of 1000 different keys would otherwise cost 1000 lookups.
const COMPACT_CHUNK_POINTS = 1024;
const COMPACT_MAX_GROUP = 32;
const COMPACT_MAX_GROUPS = 50;

const sqlCache = new Map<string, string>();

function cached(key: string, build: () => string): string {
  let text = sqlCache.get(key);
  if (!text) {
    text = build();
    sqlCache.set(key, text);
  }
  return text;
}

function placeholders(dialect: StoreDialect, rows: number, columns: number): string {
  const parts: string[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const cells: string[] = new Array(columns);
    for (let c = 0; c < columns; c++) cells[c] = dialect.parameter(r * columns + c + 1);
    parts[r] = `(${cells.join(', ')})`;
  }
  return parts.join(', ');
}

// The SQL text per (dialect, statement, row count) is built once: building a 1000-row
// statement through the query builder costs more than SQLite takes to run it, and the same
// text lets the store's statement cache reuse the prepared statement.
const insertChunksSql = (dialect: StoreDialect, rows: number) =>
  cached(
    `${dialect.name}:chunks:${rows}`,
    () =>
      `insert into "metric_chunks" ("run_id", "key", "n", "min_step", "max_step", "data") values ${placeholders(dialect, rows, 6)}`,
  );

// The latest value of a key: the greatest step, then the greatest timestamp, then the
// greatest value (NaN below every number). Only a newer point replaces the stored one.
const upsertLatestSql = (dialect: StoreDialect, rows: number) =>
  cached(
    `${dialect.name}:latest:${rows}`,
    () =>
      `insert into "latest_metrics" ("run_id", "key", "step", "timestamp", "value", "is_nan") values ${placeholders(dialect, rows, 6)} ` +
      `on conflict ("run_id", "key") do update set "step" = excluded."step", "timestamp" = excluded."timestamp", ` +
      `"value" = excluded."value", "is_nan" = excluded."is_nan" ` +
      `where excluded."step" > "latest_metrics"."step" or (excluded."step" = "latest_metrics"."step" and ` +
      `(excluded."timestamp" > "latest_metrics"."timestamp" or (excluded."timestamp" = "latest_metrics"."timestamp" and ` +
      `excluded."is_nan" = 0 and ("latest_metrics"."is_nan" = 1 or excluded."value" > "latest_metrics"."value"))))`,
  );

/** Whether `a` is a later point than `b` in the latest-value order above. */
function later(a: MetricPoint, b: MetricPoint): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  if (Number.isNaN(a.value)) return false;
  return Number.isNaN(b.value) || a.value > b.value;
}

function seriesOf(points: readonly MetricPoint[]): Series {
  const n = points.length;
  const s: Series = {
    steps: new Float64Array(n),
    timestamps: new Float64Array(n),
    values: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const p = points[i] as MetricPoint;
    s.steps[i] = p.step;
    s.timestamps[i] = p.timestamp;
    s.values[i] = p.value;
  }
  return s;
}

function bounds(s: Series): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of s.steps) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Appends `s` to the key's last chunk when that one is small; false when it did not. */
async function appendToLastChunk(tx: Executor, dialect: StoreDialect, runId: string, key: string, s: Series) {
  // FOR UPDATE: two concurrent calls on PostgreSQL must not both rewrite the same chunk.
  const lock = dialect.forUpdate();
  const { rows } = await sql<{ id: number | string; n: number; data: Uint8Array }>`
    select "id", "n", "data" from "metric_chunks" where "run_id" = ${runId} and "key" = ${key}
    order by "id" desc limit 1${lock}`.execute(tx);
  const last = rows[0];
  if (!last || last.n + s.steps.length > COMPACT_CHUNK_POINTS) return false;
  const merged = concat(decodeChunk(last.data, last.n), s);
  const [lo, hi] = bounds(merged);
  await sql`update "metric_chunks" set "n" = ${merged.steps.length}, "min_step" = ${lo}, "max_step" = ${hi},
    "data" = ${encodeChunk(merged)} where "id" = ${last.id}`.execute(tx);
  return true;
}

function concat(a: Series, b: Series): Series {
  const join = (x: Float64Array, y: Float64Array) => {
    const out = new Float64Array(x.length + y.length);
    out.set(x, 0);
    out.set(y, x.length);
    return out;
  };
  return {
    steps: join(a.steps, b.steps),
    timestamps: join(a.timestamps, b.timestamps),
    values: join(a.values, b.values),
  };
}

/**
 * Appends points to a run's history (one chunk per key) and moves its latest values
 * forward, in the caller's transaction.
 */
export async function insertMetrics(
  tx: Executor,
  dialect: StoreDialect,
  runId: string,
  points: readonly MetricPoint[],
): Promise<void> {
  if (points.length === 0) return;
  const byKey = new Map<string, MetricPoint[]>();
  const latest = new Map<string, MetricPoint>();
  for (const p of points) {
    const group = byKey.get(p.key);
    if (group) group.push(p);
    else byKey.set(p.key, [p]);
    const seen = latest.get(p.key);
    if (!seen || later(p, seen)) latest.set(p.key, p);
  }
  const rows: unknown[][] = [];
  const compact = byKey.size <= COMPACT_MAX_GROUPS;
  for (const [key, group] of byKey) {
    const s = seriesOf(group);
    if (compact && group.length < COMPACT_MAX_GROUP && (await appendToLastChunk(tx, dialect, runId, key, s)))
      continue;
    const [lo, hi] = bounds(s);
    rows.push([runId, key, group.length, lo, hi, encodeChunk(s)]);
  }
  for (const part of chunks(rows, ROWS_PER_INSERT))
    await tx.executeQuery(CompiledQuery.raw(insertChunksSql(dialect, part.length), part.flat()));
  for (const part of chunks([...latest.values()], ROWS_PER_INSERT)) {
    const params: unknown[] = [];
    for (const p of part) {
      const nan = Number.isNaN(p.value);
      params.push(runId, p.key, p.step, p.timestamp, nan ? null : p.value, nan ? 1 : 0);
    }
    await tx.executeQuery(CompiledQuery.raw(upsertLatestSql(dialect, part.length), params));
  }
}

interface ChunkRow {
  id: number | string;
  run_id: string;
  key: string;
  n: number;
  min_step: number | string;
  data: Uint8Array;
}

/** Chunks in insertion order, decoded and merged into one ordered series. */
function mergeRows(rows: ChunkRow[]): Series {
  return mergeDecoded(rows.map((r) => ({ id: Number(r.id), series: decodeChunk(r.data, r.n) })));
}

/** Decoded chunks merged in insertion (id) order. */
function mergeDecoded(chunks: { id: number; series: Series }[]): Series {
  chunks.sort((a, b) => a.id - b.id);
  return mergeChunks(chunks.map((c) => c.series));
}

/** One page of a key's history, as columns. */
export interface HistoryPage extends Series {
  key: string;
  nextPageToken?: string;
}

// Chunk rows fetched by a page's first round trip; later ones ask for about as many as the
// chunks seen so far suggest the page still needs.
const FIRST_FETCH = 16;
const MAX_FETCH = 4096;

/**
 * One key's history, ordered by step then timestamp, in pages. The token holds the last
 * (step, timestamp) returned and how many points of that pair were returned already. A page
 * reads chunks in order of their smallest step until the points below the next unread
 * chunk's smallest step fill it: those can no longer be preceded by anything unread.
 */
export async function metricHistory(
  db: Executor,
  runId: string,
  key: string,
  maxResults: number,
  pageToken: unknown,
): Promise<HistoryPage> {
  const state = decodePageToken(pageToken);
  let s = Number.NEGATIVE_INFINITY;
  let t = Number.NEGATIVE_INFINITY;
  let skip = 0;
  if (state) {
    if (
      ![state.s, state.t, state.n].every((v) => typeof v === 'number' && Number.isSafeInteger(v)) ||
      (state.n as number) < 0
    )
      throw invalid('Invalid page token');
    s = state.s as number;
    t = state.t as number;
    skip = state.n as number;
  }
  const atOrAfter = (step: number, ts: number) => step > s || (step === s && ts >= t);
  // No metric is ever logged under a key with a NUL (validateKey refuses it), and PostgreSQL
  // cannot even compare one with text: the history of such a key is empty, as for any unknown key.
  if (key.includes('\u0000')) {
    const none = new Float64Array(0);
    return { key, steps: none, timestamps: none, values: none };
  }

  // Each chunk is decoded once, as it arrives.
  const fetched: { id: number; series: Series }[] = [];
  let bound = Number.NEGATIVE_INFINITY;
  let after: { minStep: number; id: number } | undefined;
  // Steps of the page's candidate points not yet below `bound`, and how many are.
  let pending: number[] = [];
  let settled = -skip;
  let limit = FIRST_FETCH;
  let pointsFetched = 0;
  for (;;) {
    let q = db
      .selectFrom('metric_chunks')
      .select(['id', 'run_id', 'key', 'n', 'min_step', 'data'])
      .where('run_id', '=', runId)
      .where('key', '=', key);
    if (Number.isFinite(s)) q = q.where('max_step', '>=', s);
    if (after) {
      const a = after;
      q = q.where((eb) => eb(eb.refTuple('min_step', 'id'), '>', eb.tuple(a.minStep, a.id)));
    }
    const rows = (await q.orderBy('min_step').orderBy('id').limit(limit).execute()) as ChunkRow[];
    for (const r of rows) fetched.push({ id: Number(r.id), series: decodeChunk(r.data, r.n) });
    const last = rows[rows.length - 1];
    if (rows.length < limit || !last) {
      bound = Number.POSITIVE_INFINITY;
      break;
    }
    after = { minStep: Number(last.min_step), id: Number(last.id) };
    bound = after.minStep;
    for (const { series: c } of fetched.slice(fetched.length - rows.length)) {
      pointsFetched += c.steps.length;
      for (let i = 0; i < c.steps.length; i++)
        if (atOrAfter(c.steps[i] as number, c.timestamps[i] as number)) pending.push(c.steps[i] as number);
    }
    // Enough settled points to fill the page and show there is another?
    const still: number[] = [];
    for (const step of pending) {
      if (step < bound) settled++;
      else still.push(step);
    }
    pending = still;
    if (settled > maxResults) break;
    const perChunk = pointsFetched / fetched.length;
    limit = Math.min(MAX_FETCH, Math.max(FIRST_FETCH, Math.ceil((maxResults + 1 - settled) / perChunk) + 1));
  }

  const all = mergeDecoded(fetched);
  let from = 0;
  while (from < all.steps.length && !atOrAfter(all.steps[from] as number, all.timestamps[from] as number))
    from++;
  from = Math.min(from + skip, all.steps.length);
  let to = from;
  while (to < all.steps.length && to - from < maxResults && (all.steps[to] as number) < bound) to++;
  const page: HistoryPage = {
    key,
    steps: all.steps.subarray(from, to),
    timestamps: all.timestamps.subarray(from, to),
    values: all.values.subarray(from, to),
  };
  const more = to < all.steps.length && (all.steps[to] as number) < bound;
  if (!more || to === from) return page;
  const lastStep = all.steps[to - 1] as number;
  const lastTs = all.timestamps[to - 1] as number;
  // Points already returned that share the last (step, timestamp), earlier pages included.
  let n = 0;
  for (let j = to - 1; j >= from && all.steps[j] === lastStep && all.timestamps[j] === lastTs; j--) n++;
  if (state && s === lastStep && t === lastTs) n += skip;
  return { ...page, nextPageToken: encodePageToken({ s: lastStep, t: lastTs, n }) };
}

/** A history page as point objects (for SDK-style callers and tests). */
export function pagePoints(page: HistoryPage): MetricPoint[] {
  return Array.from(page.steps, (step, i) => ({
    key: page.key,
    step,
    timestamp: page.timestamps[i] as number,
    value: page.values[i] as number,
  }));
}

/**
 * Whole histories of several runs' keys, ordered, for charts. Only runs of `projectId` are
 * read: ids from elsewhere yield nothing.
 */
export async function metricSeries(
  db: Executor,
  projectId: string,
  runIds: readonly string[],
  keys: readonly string[] | undefined,
): Promise<{ runId: string; key: string; series: Series }[]> {
  let q = db
    .selectFrom('metric_chunks as c')
    .innerJoin('runs as r', 'r.id', 'c.run_id')
    .select(['c.id', 'c.run_id', 'c.key', 'c.n', 'c.min_step', 'c.data'])
    .where('r.project_id', '=', projectId)
    .where('c.run_id', 'in', runIds);
  if (keys?.length) q = q.where('c.key', 'in', keys);
  const groups = new Map<string, ChunkRow[]>();
  for (const row of (await q.execute()) as ChunkRow[]) {
    const id = `${row.run_id}\u0000${row.key}`;
    const g = groups.get(id);
    if (g) g.push(row);
    else groups.set(id, [row]);
  }
  return [...groups.values()]
    .map((rows) => ({
      runId: (rows[0] as ChunkRow).run_id,
      key: (rows[0] as ChunkRow).key,
      series: mergeRows(rows),
    }))
    .sort((a, b) =>
      a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
    );
}
