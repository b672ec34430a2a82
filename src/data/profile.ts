// A version's profile in two scans of its Parquet file: the first computes every column's
// counts, distinct estimate, range, moments, quantiles and top-value candidates in one
// aggregate; the second, which needs the ranges, counts histogram bins and the exact
// frequencies of the candidates, again for all columns in one aggregate.
import { kindOf } from './column-kind.js';
import type { ColumnProfile, ColumnSchema, Profile } from './types.js';
import { type DuckWorkspace, literal, quoteIdent, toNumber } from './workspace.js';

export const QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95] as const;
/** Exact quantiles sort every value of a column; past this many rows t-digest estimates are used. */
export const QUANTILE_EXACT_ROWS = 1_000_000;
export const HISTOGRAM_BINS = 20;
export const TOP_VALUES = 10;

/** A numeric column as DOUBLE with NaN and ±Infinity left out (they would poison min, mean, bins). */
export function finite(q: string): string {
  return `(CASE WHEN isfinite(CAST(${q} AS DOUBLE)) THEN CAST(${q} AS DOUBLE) END)`;
}

function scalar(v: unknown): number | string | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** Profiles the table expression `from` (its file parameters bound by `params`). */
export async function computeProfile(
  ws: DuckWorkspace,
  from: string,
  params: string[],
  schema: ColumnSchema[],
): Promise<Profile> {
  const countRows = await ws.rows(`SELECT count(*) FROM ${from}`, params);
  const rowCount = toNumber(countRows[0]?.[0]) ?? 0;
  const exact = rowCount <= QUANTILE_EXACT_ROWS;
  const quantileFn = exact ? 'quantile_cont' : 'approx_quantile';
  const qList = `[${QUANTILES.join(', ')}]`;

  // Pass 1: each column adds a fixed group of 7 expressions (NULL where they do not apply).
  const parts: string[] = [];
  for (const col of schema) {
    const q = quoteIdent(col.name);
    const kind = kindOf(col.type);
    const x = kind === 'numeric' ? finite(q) : q;
    const range =
      kind === 'other'
        ? ['NULL', 'NULL']
        : kind === 'temporal'
          ? [`CAST(min(${q}) AS VARCHAR)`, `CAST(max(${q}) AS VARCHAR)`]
          : [`min(${x})`, `max(${x})`];
    parts.push(
      `count(${q})`,
      kind === 'other' ? 'NULL' : exact ? `count(DISTINCT ${q})` : `approx_count_distinct(${q})`,
      ...range,
      kind === 'numeric' ? `avg(${x})` : 'NULL',
      kind === 'numeric' ? `stddev_samp(${x})` : 'NULL',
      kind === 'numeric'
        ? `${quantileFn}(${x}, ${qList})`
        : kind === 'text'
          ? `approx_top_k(${q}, ${TOP_VALUES})`
          : kind === 'boolean'
            ? `count_if(${q})`
            : 'NULL',
    );
  }
  const first =
    schema.length === 0 ? [] : ((await ws.rows(`SELECT ${parts.join(', ')} FROM ${from}`, params))[0] ?? []);
  const columns: ColumnProfile[] = schema.map((col, i) => {
    const at = (k: number) => first[i * 7 + k];
    const kind = kindOf(col.type);
    const count = toNumber(at(0)) ?? 0;
    const nulls = rowCount - count;
    const p: ColumnProfile = {
      name: col.name,
      type: col.type,
      kind,
      count,
      nulls,
      nullFraction: rowCount === 0 ? 0 : nulls / rowCount,
      distinct: toNumber(at(1)) ?? 0,
      min: scalar(at(2)),
      max: scalar(at(3)),
    };
    if (kind === 'numeric') {
      p.mean = toNumber(at(4));
      p.std = toNumber(at(5));
      const qs = (at(6) as unknown[] | null) ?? [];
      p.quantiles = Object.fromEntries(QUANTILES.map((level, k) => [String(level), toNumber(qs[k])]));
    } else if (kind === 'text') {
      p.topValues = ((at(6) as unknown[] | null) ?? [])
        .filter((v) => v !== null)
        .map((v) => ({ value: String(v), count: 0 }));
    } else if (kind === 'boolean') {
      const trues = toNumber(at(6)) ?? 0;
      p.topValues = [
        { value: 'true', count: trues },
        { value: 'false', count: count - trues },
      ]
        .filter((v) => v.count > 0)
        .sort((a, b) => b.count - a.count);
    }
    return p;
  });

  // Pass 2: histogram bins of numeric columns, exact counts of the top-value candidates.
  const second: string[] = [];
  const readers: ((row: unknown[], offset: number) => number)[] = [];
  for (const p of columns) {
    const q = quoteIdent(p.name);
    if (p.kind === 'numeric' && typeof p.min === 'number' && typeof p.max === 'number') {
      const lo = p.min;
      const hi = p.max;
      const bins = hi > lo ? HISTOGRAM_BINS : 1;
      const width = (hi - lo) / bins;
      // least() skips NULLs in DuckDB: a NULL value must stay NULL, not fall into the last bin.
      const x = finite(q);
      const index = hi > lo ? `least(CAST(floor((${x} - ${lo}) / ${width}) AS INTEGER), ${bins - 1})` : '0';
      const bin = `CASE WHEN ${x} IS NOT NULL THEN ${index} END`;
      second.push(`histogram(${bin})`);
      readers.push((row, offset) => {
        const counts = new Array<number>(bins).fill(0);
        for (const [k, v] of mapEntries(row[offset])) counts[Number(k)] = toNumber(v) ?? 0;
        const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? hi : lo + k * width));
        p.histogram = { edges, counts };
        return offset + 1;
      });
    } else if (p.kind === 'text' && p.topValues && p.topValues.length > 0) {
      const tops = p.topValues;
      second.push(`[${tops.map((t) => `count_if(${q} = ${literal(t.value)})`).join(', ')}]`);
      readers.push((row, offset) => {
        const counts = (row[offset] as unknown[]) ?? [];
        tops.forEach((t, k) => {
          t.count = toNumber(counts[k]) ?? 0;
        });
        // Ties broken by value, so the same data always lists the same order.
        tops.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
        return offset + 1;
      });
    }
  }
  if (second.length > 0) {
    const row = (await ws.rows(`SELECT ${second.join(', ')} FROM ${from}`, params))[0] ?? [];
    let offset = 0;
    for (const read of readers) offset = read(row, offset);
  }
  return { rowCount, columns, quantiles: exact ? 'exact' : 'approximate' };
}

/** A DuckDB MAP as read by getRowsJS: an array of {key, value} (or a Map in other versions). */
function mapEntries(v: unknown): [unknown, unknown][] {
  if (!v) return [];
  if (v instanceof Map) return [...v.entries()];
  if (Array.isArray(v)) return v.map((e) => [(e as { key: unknown }).key, (e as { value: unknown }).value]);
  if (typeof v === 'object' && 'entries' in v) return mapEntries((v as { entries: unknown }).entries);
  return Object.entries(v as Record<string, unknown>);
}
