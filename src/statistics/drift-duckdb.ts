// Drift where the data is large: reference and current are DuckDB tables/views or CSV/Parquet
// files. Each column costs one aggregate query (plus one shared profile scan per side), and the
// statistics are finished by the same code as the in-memory path (drift-rules.ts), so both
// paths report the same numbers for the same data.
import {
  DOUBLE,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  listValue,
} from '@duckdb/node-api';
import { FalajError } from '../core/errors.js';
import {
  type BinEdges,
  countsFromBelow,
  equalWidthEdges,
  quantileEdgesFromOrderStats,
  quantilePositions,
  sturgesEdges,
} from './binning.js';
import { categoricalDrift } from './drift-memory.js';
import {
  binDetail,
  columnResult,
  countsTest,
  datasetReport,
  emptyColumnError,
  ksResult,
  planColumn,
  sharesStatistic,
  usesBins,
  validateOptions,
  wassersteinStatistic,
} from './drift-rules.js';
import { belowSql, countsSql, distinctSql, ecdfSql, finiteExpr, orderStatsSql } from './drift-sql.js';
import type { ColumnDrift, DriftOptions, DriftReport } from './drift-types.js';
import {
  fromItem,
  isNumericType,
  num,
  query,
  quoteIdent,
  type SourceColumn,
  sourceColumns,
  type TableSource,
} from './sql.js';
import { type AlignedCounts, alignCounts, type CategoryKey, type ColumnType, toKey } from './values.js';

export interface DuckDBDriftOptions extends DriftOptions {
  /** Bins of the exact ECDF computation (a tuning knob: more bins, fewer rows to refine). Default 16,384. */
  ecdfBins?: number;
}

interface SideProfile {
  rows: number;
  count: number;
  min: number;
  max: number;
  std: number;
}

interface Ctx {
  conn: DuckDBConnection;
  ref: string;
  cur: string;
  params: Record<string, DuckDBValue>;
  options: DuckDBDriftOptions;
}

/** Runs with the file-path parameters plus `extra`; doubles are bound as DOUBLE whatever their value. */
async function run(
  ctx: Ctx,
  sql: string,
  extra: Record<string, number | DuckDBValue>,
  column: string,
  doubles: string[] = [],
) {
  const types: Record<string, DuckDBType> = {};
  for (const d of doubles) types[d] = DOUBLE;
  const params = { ...ctx.params, ...extra } as Record<string, DuckDBValue>;
  // Only parameters the statement names may be bound.
  for (const k of Object.keys(params)) if (!sql.includes(`$${k}`)) delete params[k];
  try {
    return (await ctx.conn.runAndReadAll(sql, params, types)).getRowsJS() as unknown[][];
  } catch (err) {
    throw new FalajError(
      'FALAJ_DATA_INVALID',
      `drift query failed for column '${column}': ${(err as Error).message}`,
      {
        column,
      },
    );
  }
}

/** One scan per side: row count and, per column, non-missing count (numeric: min, max, population std). */
async function profileSide(
  ctx: Ctx,
  from: string,
  cols: { name: string; numeric: boolean }[],
): Promise<{ rows: number; cols: SideProfile[] }> {
  const parts = ['count(*)'];
  for (const c of cols) {
    const q = quoteIdent(c.name);
    if (c.numeric) {
      const x = finiteExpr(q);
      parts.push(`count(${x})`, `min(${x})`, `max(${x})`, `stddev_pop(${x})`);
    } else {
      parts.push(`count(${q})`, 'NULL', 'NULL', 'NULL');
    }
  }
  const params: Record<string, DuckDBValue> = {};
  for (const k of Object.keys(ctx.params))
    if (from.includes(`$${k}`)) params[k] = ctx.params[k] as DuckDBValue;
  const row = (await query(ctx.conn, `SELECT ${parts.join(', ')} FROM ${from}`, params))[0] ?? [];
  const rows = num(row[0]);
  return {
    rows,
    cols: cols.map((_, i) => ({
      rows,
      count: num(row[1 + 4 * i]),
      min: num(row[2 + 4 * i]),
      max: num(row[3 + 4 * i]),
      std: num(row[4 + 4 * i]),
    })),
  };
}

function keyExpr(q: string, sourceType: string, type: ColumnType): string {
  if (type === 'numeric' || isNumericType(sourceType)) return finiteExpr(q);
  if (sourceType === 'VARCHAR' || sourceType === 'BOOLEAN') return q;
  return `CAST(${q} AS VARCHAR)`;
}

async function counts(ctx: Ctx, column: string, expr: string): Promise<AlignedCounts> {
  const rows = await run(ctx, countsSql(ctx.ref, ctx.cur, expr), {}, column);
  const ref = new Map<CategoryKey, number>();
  const cur = new Map<CategoryKey, number>();
  for (const r of rows) {
    const k = toKey(r[0]);
    if (k === undefined) continue;
    if (num(r[1]) > 0) ref.set(k, num(r[1]));
    if (num(r[2]) > 0) cur.set(k, num(r[2]));
  }
  return alignCounts(ref, cur);
}

async function edgesFor(
  ctx: Ctx,
  column: string,
  q: string,
  r: SideProfile,
  c: SideProfile,
): Promise<BinEdges> {
  const bins = ctx.options.bins ?? 10;
  switch (ctx.options.binning ?? 'evidently') {
    case 'equal-width':
      return equalWidthEdges(r.min, r.max, bins);
    case 'quantile': {
      const positions = quantilePositions(r.count, bins);
      const ranks = [...new Set(positions.flatMap((p) => [p.lo, p.hi]))];
      const rows = await run(ctx, orderStatsSql(ctx.ref, q), { ranks: listValue(ranks) }, column);
      const stats = new Map(rows.map((row) => [num(row[0]), num(row[1])]));
      return quantileEdgesFromOrderStats(positions, (i) => stats.get(i) as number);
    }
    default:
      return sturgesEdges(Math.min(r.min, c.min), Math.max(r.max, c.max), r.count + c.count);
  }
}

async function binnedCounts(
  ctx: Ctx,
  column: string,
  q: string,
  edges: BinEdges,
): Promise<{ ref: number[]; cur: number[] }> {
  const extra: Record<string, number> = {};
  edges.edges.forEach((e, i) => {
    extra[`e${i}`] = e;
  });
  const rows = await run(
    ctx,
    belowSql(ctx.ref, ctx.cur, q, edges.edges.length, edges.mode === 'closed'),
    extra,
    column,
    Object.keys(extra),
  );
  const side = (s: number) => {
    const row = rows.find((r) => num(r[0]) === s) ?? [];
    const total = num(row[1] ?? 0);
    const below = edges.edges.map((_, i) => num(row[2 + i] ?? 0));
    return countsFromBelow(below, total, edges);
  };
  return { ref: side(0), cur: side(1) };
}

async function numericColumn(ctx: Ctx, column: string, r: SideProfile, c: SideProfile): Promise<ColumnDrift> {
  const q = quoteIdent(column);
  const n = r.count;
  const m = c.count;
  const bins = ctx.options.ecdfBins ?? 16_384;
  const lo = Math.min(r.min, c.min);
  const hi = Math.max(r.max, c.max);
  const width = (hi - lo) / bins;
  const scale = hi > lo ? bins / (hi - lo) : 0;
  const e = (
    await run(ctx, ecdfSql(ctx.ref, ctx.cur, q), { lo, scale, width, last: bins - 1, n, m }, column, [
      'lo',
      'scale',
      'width',
    ])
  )[0] as unknown[];
  const dScaled = num(e[0]);
  const area = num(e[1]);
  let distinct = num(e[2]);
  let refDistinct = num(e[4]);
  // Bins holding several values only bound the distinct counts from below; count exactly when
  // the bound cannot decide Evidently's thresholds (≤ 5 pooled, > 20 in the reference).
  const allSingle = e[3] === true;
  const refAllSingle = e[5] === true;
  if ((!allSingle && distinct + 1 <= 5) || (!refAllSingle && refDistinct + 1 <= 20)) {
    const d = (await run(ctx, distinctSql(ctx.ref, ctx.cur, q), {}, column))[0] as unknown[];
    distinct = num(d[0]);
    refDistinct = num(d[1]);
  } else {
    if (!allSingle) distinct += 1;
    if (!refAllSingle) refDistinct += 1;
  }
  const plan = planColumn(ctx.options, column, 'numeric', n, distinct);
  switch (plan.method) {
    case 'ks': {
      const k = ksResult({ n, m, dScaled, wasserstein: 0 });
      return columnResult(plan, k.statistic, k.pValue, n, m, { ksPValue: k.method });
    }
    case 'wasserstein':
      return columnResult(plan, wassersteinStatistic(area / (n * m), r.std), undefined, n, m);
    case 'chisquare':
    case 'z': {
      const t = countsTest(plan.method, await counts(ctx, column, finiteExpr(q)));
      return columnResult(plan, t.statistic, t.pValue, n, m);
    }
    default: {
      if ((ctx.options.binning ?? 'evidently') === 'evidently' && !usesBins('numeric', refDistinct)) {
        const a = await counts(ctx, column, finiteExpr(q));
        return columnResult(plan, sharesStatistic(plan.method, a.reference, a.current), undefined, n, m, {
          binning: 'categories',
        });
      }
      const edges = await edgesFor(ctx, column, q, r, c);
      const b = await binnedCounts(ctx, column, q, edges);
      return columnResult(
        plan,
        sharesStatistic(plan.method, b.ref, b.cur),
        undefined,
        n,
        m,
        binDetail(ctx.options.binning, edges),
      );
    }
  }
}

function requireColumns(
  cols: SourceColumn[],
  names: readonly string[],
  side: 'reference' | 'current',
): Map<string, string> {
  const types = new Map(cols.map((c) => [c.name, c.type]));
  for (const name of names) {
    if (!types.has(name)) {
      throw new FalajError('FALAJ_DATA_INVALID', `column '${name}' is missing from the ${side} data`, {
        column: name,
        side,
      });
    }
  }
  return types;
}

/**
 * The drift report of `current` against `reference` computed in DuckDB. Columns typed as
 * numbers in DuckDB (integers, decimals, floats) are numeric; everything else is categorical,
 * unless `perColumn[name].type` says otherwise.
 */
export async function computeDriftDuckDB(
  conn: DuckDBConnection,
  reference: TableSource,
  current: TableSource,
  options: DuckDBDriftOptions = {},
): Promise<DriftReport> {
  validateOptions(options);
  const params: Record<string, DuckDBValue> = {};
  const ctx: Ctx = {
    conn,
    ref: fromItem(reference, 'ref_path', params),
    cur: fromItem(current, 'cur_path', params),
    params,
    options,
  };
  const refCols = await sourceColumns(conn, reference);
  const names = options.columns ?? refCols.map((c) => c.name);
  const refTypes = requireColumns(refCols, names, 'reference');
  requireColumns(await sourceColumns(conn, current), names, 'current');
  const cols = names.map((name) => {
    const sourceType = refTypes.get(name) as string;
    const type: ColumnType =
      options.perColumn?.[name]?.type ?? (isNumericType(sourceType) ? 'numeric' : 'categorical');
    return { name, sourceType, type, numeric: type === 'numeric' };
  });
  const refProfile = await profileSide(ctx, ctx.ref, cols);
  if (refProfile.rows === 0) {
    throw new FalajError('FALAJ_DATA_INVALID', 'the reference data has no rows', { side: 'reference' });
  }
  const curProfile = await profileSide(ctx, ctx.cur, cols);
  const results: ColumnDrift[] = [];
  for (const [i, col] of cols.entries()) {
    const r = refProfile.cols[i] as SideProfile;
    const c = curProfile.cols[i] as SideProfile;
    if (r.count === 0) throw emptyColumnError(col.name, 'reference');
    if (c.count === 0) throw emptyColumnError(col.name, 'current');
    if (col.type === 'numeric') {
      results.push(await numericColumn(ctx, col.name, r, c));
    } else {
      const q = quoteIdent(col.name);
      results.push(
        categoricalDrift(
          options,
          col.name,
          await counts(ctx, col.name, keyExpr(q, col.sourceType, col.type)),
        ),
      );
    }
  }
  return datasetReport(results, options);
}
