// Runs a suite over a Parquet file. Every row-level expectation becomes a few aggregates of
// ONE scan (count of missing and of unexpected values); uniqueness needs its own GROUP BY; a
// sample of failing rows is fetched only for expectations that found some. The result has
// Great Expectations' shape. An expectation that cannot be evaluated (a column the data
// lacks, a bound of the wrong type) fails with `exception_info`, as in Great Expectations; it
// does not stop the others.
import { computeDriftDuckDB, type DriftMethod } from '../statistics/index.js';
import { isIntegerType, kindOf } from './column-kind.js';
import type { PairOperator } from './suite.js';
import type { ColumnSchema, Expectation, ExpectationResult, Suite, ValidationResult } from './types.js';
import { type DuckWorkspace, literal, quoteIdent, toNumber } from './workspace.js';

export const SAMPLE_ROWS = 20;

export interface ValidateOptions {
  /** Resolves "dataset@N" to a Parquet path (distribution expectations). */
  reference?: (ref: string) => Promise<string>;
}

/** What an expectation needs from the scan: unexpected (and missing) predicates over the row. */
interface Check {
  columns: string[];
  /** SQL true when the row's value is missing (not judged). */
  missing: string;
  /** SQL true when a present value is unexpected. */
  unexpected: string;
}

class Unevaluable extends Error {}

const FAMILIES: Record<string, (type: string) => boolean> = {
  numeric: (t) => kindOf(t) === 'numeric',
  integer: isIntegerType,
  float: (t) => /^(FLOAT|REAL|DOUBLE|DECIMAL)/.test(t),
  string: (t) => t === 'VARCHAR',
  text: (t) => t === 'VARCHAR',
  boolean: (t) => t === 'BOOLEAN',
  temporal: (t) => kindOf(t) === 'temporal',
  date: (t) => t === 'DATE',
  timestamp: (t) => t.startsWith('TIMESTAMP'),
};

const OPERATORS: Record<PairOperator, string> = {
  '>': '>',
  '>=': '>=',
  '<': '<',
  '<=': '<=',
  '==': '=',
  '!=': '<>',
};

function columnOf(types: Map<string, string>, name: unknown): { q: string; type: string } {
  const n = String(name);
  const type = types.get(n);
  if (type === undefined)
    throw new Unevaluable(`column '${n}' does not exist (columns: ${[...types.keys()].join(', ')})`);
  return { q: quoteIdent(n), type };
}

/** A bound as SQL comparable with a column of `type`. */
function bound(value: unknown, type: string): string {
  const kind = kindOf(type);
  if (kind === 'numeric') {
    if (typeof value !== 'number')
      throw new Unevaluable(`bound ${JSON.stringify(value)} is not a number but the column is ${type}`);
    return String(value);
  }
  if (typeof value === 'number' && kind !== 'text')
    throw new Unevaluable(`bound ${value} does not fit a ${type} column`);
  return `TRY_CAST(${literal(String(value))} AS ${type})`;
}

function setLiteral(values: unknown[], type: string): { expr: (q: string) => string } {
  const kind = kindOf(type);
  const present = values.filter((v) => v !== null);
  if (kind === 'numeric' && present.every((v) => typeof v === 'number')) {
    return { expr: (q) => `${q} IN (${present.join(', ') || 'NULL'})` };
  }
  if (kind === 'boolean' && present.every((v) => typeof v === 'boolean')) {
    return { expr: (q) => `${q} IN (${present.join(', ') || 'NULL'})` };
  }
  return {
    expr: (q) => `CAST(${q} AS VARCHAR) IN (${present.map((v) => literal(String(v))).join(', ') || 'NULL'})`,
  };
}

function rowCheck(e: Expectation, types: Map<string, string>): Check | null {
  const k = e.kwargs;
  switch (e.expectation_type) {
    case 'expect_column_values_to_not_be_null': {
      const c = columnOf(types, k.column);
      return { columns: [String(k.column)], missing: 'false', unexpected: `${c.q} IS NULL` };
    }
    case 'expect_column_values_to_be_between': {
      const c = columnOf(types, k.column);
      const parts: string[] = [];
      if (k.min_value !== undefined && k.min_value !== null)
        parts.push(`${c.q} ${k.strict_min ? '>' : '>='} ${bound(k.min_value, c.type)}`);
      if (k.max_value !== undefined && k.max_value !== null)
        parts.push(`${c.q} ${k.strict_max ? '<' : '<='} ${bound(k.max_value, c.type)}`);
      // NaN compares false with every bound: it counts as unexpected.
      return {
        columns: [String(k.column)],
        missing: `${c.q} IS NULL`,
        unexpected: `NOT coalesce(${parts.join(' AND ') || 'true'}, false)`,
      };
    }
    case 'expect_column_values_to_be_in_set': {
      const c = columnOf(types, k.column);
      return {
        columns: [String(k.column)],
        missing: `${c.q} IS NULL`,
        unexpected: `NOT coalesce(${setLiteral(k.value_set as unknown[], c.type).expr(c.q)}, false)`,
      };
    }
    case 'expect_column_values_to_match_regex': {
      const c = columnOf(types, k.column);
      return {
        columns: [String(k.column)],
        missing: `${c.q} IS NULL`,
        unexpected: `NOT regexp_matches(CAST(${c.q} AS VARCHAR), ${literal(String(k.regex))})`,
      };
    }
    case 'expect_column_pair_values_to_compare':
    case 'expect_column_pair_values_a_to_be_greater_than_b':
    case 'expect_column_pair_values_to_be_equal': {
      const a = columnOf(types, k.column_A);
      const b = columnOf(types, k.column_B);
      const op =
        e.expectation_type === 'expect_column_pair_values_to_compare'
          ? OPERATORS[k.operator as PairOperator]
          : e.expectation_type === 'expect_column_pair_values_to_be_equal'
            ? '='
            : k.or_equal
              ? '>='
              : '>';
      return {
        columns: [String(k.column_A), String(k.column_B)],
        missing: `(${a.q} IS NULL OR ${b.q} IS NULL)`,
        unexpected: `NOT coalesce(${a.q} ${op} ${b.q}, false)`,
      };
    }
    default:
      return null;
  }
}

function percent(n: number, d: number): number {
  return d === 0 ? 0 : (100 * n) / d;
}

function withMostly(e: Expectation, unexpected: number, nonMissing: number): boolean {
  const mostly = (e.kwargs.mostly as number | undefined) ?? 1;
  if (nonMissing === 0) return true;
  return (nonMissing - unexpected) / nonMissing >= mostly;
}

function failed(e: Expectation, message: string): ExpectationResult {
  return {
    success: false,
    expectation_config: e,
    result: {},
    exception_info: { raised_exception: true, exception_message: message },
  };
}

/** Validates the Parquet file at `parquet` (with columns `schema`) against `suite`. */
export async function runSuite(
  ws: DuckWorkspace,
  parquet: string,
  schema: readonly ColumnSchema[],
  suite: Suite,
  opts: ValidateOptions = {},
): Promise<ValidationResult> {
  const types = new Map(schema.map((c) => [c.name, c.type]));
  const from = 'read_parquet($1, file_row_number = true)';
  const results: (ExpectationResult | undefined)[] = new Array(suite.expectations.length);
  const checks: { index: number; check: Check }[] = [];
  suite.expectations.forEach((e, index) => {
    try {
      const check = rowCheck(e, types);
      if (check) checks.push({ index, check });
    } catch (err) {
      if (!(err instanceof Unevaluable)) throw err;
      results[index] = failed(e, err.message);
    }
  });

  // The one scan: row count, then missing and unexpected counts per row-level expectation.
  const aggregates = (list: typeof checks) =>
    [
      'count(*)',
      ...list.flatMap(({ check }) => [
        `count_if(${check.missing})`,
        `count_if(NOT (${check.missing}) AND (${check.unexpected}))`,
      ]),
    ].join(', ');
  let rowCount = 0;
  const counted = new Map<number, { missing: number; unexpected: number }>();
  const scan = async (list: typeof checks) => {
    const row = (await ws.rows(`SELECT ${aggregates(list)} FROM ${from}`, [parquet]))[0] ?? [];
    rowCount = toNumber(row[0]) ?? 0;
    list.forEach(({ index }, j) => {
      counted.set(index, {
        missing: toNumber(row[1 + 2 * j]) ?? 0,
        unexpected: toNumber(row[2 + 2 * j]) ?? 0,
      });
    });
  };
  try {
    await scan(checks);
  } catch {
    // One bad predicate (a regex RE2 refuses, a cast that fails) spoils the shared scan: run
    // each alone so that only the culprit fails.
    await scan([]);
    for (const c of checks) {
      try {
        await scan([c]);
      } catch (err) {
        results[c.index] = failed(
          suite.expectations[c.index] as Expectation,
          (err as Error).message.split('\n')[0] ?? 'failed',
        );
      }
    }
  }

  for (const { index, check } of checks) {
    const e = suite.expectations[index] as Expectation;
    const n = counted.get(index);
    if (!n || results[index]) continue;
    const nonMissing = rowCount - n.missing;
    const notNull = e.expectation_type === 'expect_column_values_to_not_be_null';
    const denominator = notNull ? rowCount : nonMissing;
    const sample = n.unexpected > 0 ? await sampleRows(ws, parquet, from, check) : [];
    results[index] = {
      success: withMostly(e, n.unexpected, denominator),
      expectation_config: e,
      result: {
        element_count: rowCount,
        ...(notNull ? {} : { missing_count: n.missing, missing_percent: percent(n.missing, rowCount) }),
        unexpected_count: n.unexpected,
        unexpected_percent: percent(n.unexpected, denominator),
        partial_unexpected_list: sample.map((r) =>
          check.columns.length === 1 ? r.values[check.columns[0] as string] : r.values,
        ),
        partial_unexpected_rows: sample,
        ...(notNull ? { observed_value: 1 - percent(n.unexpected, rowCount) / 100 } : {}),
      },
    };
  }

  for (const [index, e] of suite.expectations.entries()) {
    if (results[index]) continue;
    try {
      results[index] = await tableCheck(ws, parquet, e, types, rowCount, opts);
    } catch (err) {
      results[index] = failed(
        e,
        err instanceof Error ? (err.message.split('\n')[0] ?? 'failed') : String(err),
      );
    }
  }

  const done = results as ExpectationResult[];
  const successful = done.filter((r) => r.success).length;
  return {
    success: successful === done.length,
    suite_name: suite.name ?? null,
    statistics: {
      evaluated_expectations: done.length,
      successful_expectations: successful,
      unsuccessful_expectations: done.length - successful,
      success_percent: done.length === 0 ? 100 : (100 * successful) / done.length,
    },
    results: done,
  };
}

async function sampleRows(ws: DuckWorkspace, parquet: string, from: string, check: Check) {
  const cols = check.columns.map(quoteIdent).join(', ');
  const rows = await ws.rows(
    `SELECT file_row_number, ${cols} FROM ${from} WHERE NOT (${check.missing}) AND (${check.unexpected}) ORDER BY file_row_number LIMIT ${SAMPLE_ROWS}`,
    [parquet],
  );
  return rows.map((r) => ({
    row: toNumber(r[0]) ?? 0,
    values: Object.fromEntries(check.columns.map((c, i) => [c, jsonValue(r[i + 1])])),
  }));
}

export function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') return String(v);
  return v;
}

/** Expectations on the schema, the table, or needing their own query. */
async function tableCheck(
  ws: DuckWorkspace,
  parquet: string,
  e: Expectation,
  types: Map<string, string>,
  rowCount: number,
  opts: ValidateOptions,
): Promise<ExpectationResult> {
  const k = e.kwargs;
  switch (e.expectation_type) {
    case 'expect_column_to_exist': {
      const exists = types.has(String(k.column));
      return { success: exists, expectation_config: e, result: { observed_value: exists } };
    }
    case 'expect_column_values_to_be_of_type': {
      const { type } = columnOf(types, k.column);
      const wanted = String(k.type_);
      const family = FAMILIES[wanted.toLowerCase()];
      const ok = family ? family(type) : type.toUpperCase() === wanted.toUpperCase();
      return { success: ok, expectation_config: e, result: { observed_value: type } };
    }
    case 'expect_table_row_count_to_be_between': {
      const min = k.min_value as number | undefined;
      const max = k.max_value as number | undefined;
      const ok = (min === undefined || rowCount >= min) && (max === undefined || rowCount <= max);
      return { success: ok, expectation_config: e, result: { observed_value: rowCount } };
    }
    case 'expect_column_values_to_be_unique': {
      const { q } = columnOf(types, k.column);
      // Great Expectations counts every row whose value occurs more than once.
      const row =
        (
          await ws.rows(
            `SELECT count(${q}), (SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM read_parquet($1) WHERE ${q} IS NOT NULL GROUP BY ${q} HAVING count(*) > 1)) FROM read_parquet($1)`,
            [parquet],
          )
        )[0] ?? [];
      const nonMissing = toNumber(row[0]) ?? 0;
      const unexpected = toNumber(row[1]) ?? 0;
      const sample =
        unexpected > 0
          ? (
              await ws.rows(
                `SELECT ${q} FROM read_parquet($1) WHERE ${q} IS NOT NULL GROUP BY ${q} HAVING count(*) > 1 ORDER BY count(*) DESC, ${q} LIMIT ${SAMPLE_ROWS}`,
                [parquet],
              )
            ).map((r) => jsonValue(r[0]))
          : [];
      return {
        success: withMostly(e, unexpected, nonMissing),
        expectation_config: e,
        result: {
          element_count: rowCount,
          missing_count: rowCount - nonMissing,
          missing_percent: percent(rowCount - nonMissing, rowCount),
          unexpected_count: unexpected,
          unexpected_percent: percent(unexpected, nonMissing),
          partial_unexpected_list: sample,
        },
      };
    }
    case 'expect_column_distribution_to_match_reference': {
      const column = String(k.column);
      columnOf(types, column);
      if (!opts.reference) throw new Unevaluable('no reference data can be resolved here');
      const refPath = await opts.reference(String(k.reference));
      const report = await computeDriftDuckDB(
        ws.conn,
        { parquet: refPath },
        { parquet },
        {
          columns: [column],
          ...(k.method ? { method: k.method as DriftMethod } : {}),
          ...(k.threshold !== undefined ? { threshold: k.threshold as number } : {}),
        },
      );
      const c = report.columns[0];
      if (!c) throw new Unevaluable(`no drift result for column '${column}'`);
      return {
        success: !c.drifted,
        expectation_config: e,
        result: {
          observed_value: c.statistic,
          details: {
            method: c.method,
            threshold: c.threshold,
            drifted: c.drifted,
            ...(c.pValue !== undefined ? { pValue: c.pValue } : {}),
          },
        },
      };
    }
    default:
      throw new Unevaluable(`unsupported expectation '${e.expectation_type}'`);
  }
}
