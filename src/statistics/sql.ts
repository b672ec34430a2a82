// Safe SQL building for the DuckDB paths: identifiers are quoted (embedded quotes doubled),
// file paths and every value travel as parameters, never spliced into the text.
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { FalajError } from '../core/errors.js';

/** Where the rows come from: a table or view already in the connection, or a CSV/Parquet file. */
export type TableSource =
  | { readonly table: string; readonly schema?: string }
  | { readonly parquet: string }
  | { readonly csv: string };

export function quoteIdent(name: string): string {
  if (name.includes('\0'))
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'an identifier cannot contain a NUL byte', { name });
  return `"${name.replaceAll('"', '""')}"`;
}

/** A FROM item for `source`; a file path becomes the named parameter `$<param>` added to `params`. */
export function fromItem(source: TableSource, param: string, params: Record<string, DuckDBValue>): string {
  if ('table' in source) {
    return source.schema === undefined
      ? quoteIdent(source.table)
      : `${quoteIdent(source.schema)}.${quoteIdent(source.table)}`;
  }
  if ('parquet' in source) {
    params[param] = source.parquet;
    return `read_parquet($${param})`;
  }
  params[param] = source.csv;
  return `read_csv($${param})`;
}

export function describeSource(source: TableSource): string {
  return 'table' in source ? source.table : 'parquet' in source ? source.parquet : source.csv;
}

export interface SourceColumn {
  name: string;
  /** DuckDB's type name, e.g. DOUBLE, VARCHAR, DECIMAL(10,2). */
  type: string;
}

/** Column names and types of a source. */
export async function sourceColumns(conn: DuckDBConnection, source: TableSource): Promise<SourceColumn[]> {
  const params: Record<string, DuckDBValue> = {};
  const from = fromItem(source, 'src', params);
  try {
    const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`, params);
    return reader.getRowsJS().map((r) => ({ name: String(r[0]), type: String(r[1]) }));
  } catch (err) {
    throw new FalajError(
      'FALAJ_DATA_INVALID',
      `cannot read ${describeSource(source)}: ${(err as Error).message}`,
      {
        source: describeSource(source),
      },
    );
  }
}

const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;

export function isNumericType(type: string): boolean {
  return NUMERIC_TYPE.test(type);
}

/** A number from what DuckDB returns for counts and sums (BIGINT/HUGEINT arrive as bigint). */
export function num(v: unknown): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return Number.NaN;
  return Number(v);
}

/** Runs a query, turning DuckDB's errors into a data error that names the column. */
export async function query(
  conn: DuckDBConnection,
  sql: string,
  params: Record<string, DuckDBValue>,
  column?: string,
): Promise<unknown[][]> {
  try {
    return (await conn.runAndReadAll(sql, params)).getRowsJS() as unknown[][];
  } catch (err) {
    const where = column === undefined ? '' : ` (column '${column}')`;
    throw new FalajError(
      'FALAJ_DATA_INVALID',
      `query failed${where}: ${(err as Error).message}`,
      column === undefined ? {} : { column },
    );
  }
}
