// A CSV, TSV, Parquet or JSON-lines file into one zstd Parquet file, through DuckDB, streaming
// (COPY ... TO reads and writes in chunks: memory stays bounded whatever the file size).
import { open, stat } from 'node:fs/promises';
import { FalajError } from '../core/errors.js';
import { readCsv } from './csv-read.js';
import { dataError, readError } from './read-errors.js';
import type { ColumnSchema, SourceFormat } from './types.js';
import { type DuckWorkspace, literal, toNumber } from './workspace.js';

export interface IngestResult {
  format: SourceFormat;
  schema: ColumnSchema[];
  rowCount: number;
  bytes: number;
  /** What the reader had to decide for the user (a column read as text because of mixed values). */
  warnings: string[];
}

/** The format a file name says it has; throws FALAJ_INVALID_ARGUMENT for any other name. */
export function formatOf(fileName: string): SourceFormat {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.tsv')) return 'tsv';
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return 'parquet';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  throw new FalajError(
    'FALAJ_INVALID_ARGUMENT',
    `cannot tell the format of '${fileName}': use a .csv, .tsv, .parquet or .jsonl file`,
    { file: fileName },
  );
}

/**
 * Checks the bytes agree with the name before DuckDB sees them: Parquet begins and ends with
 * PAR1; text formats hold no NUL byte in their first 64 KiB; JSON lines start with '{'.
 */
async function checkBytes(file: string, shown: string, format: SourceFormat): Promise<number> {
  // DuckDB would expand glob characters in a path; nothing else in a path is special to it here.
  if (/[*?[\]{}]/.test(file)) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `'${shown}': glob characters are not accepted in a data path`,
      { file: shown },
    );
  }
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a file');
    size = s.size;
  } catch (err) {
    throw dataError(shown, `cannot read '${shown}': ${(err as Error).message}`);
  }
  if (size === 0) throw dataError(shown, `'${shown}' is empty`, { line: 1 });
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 65_536));
    await fh.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(4);
    if (size >= 8) await fh.read(tail, 0, 4, size - 4);
    const isParquet =
      size >= 8 && head.subarray(0, 4).toString('latin1') === 'PAR1' && tail.toString('latin1') === 'PAR1';
    if (format === 'parquet') {
      if (!isParquet) throw dataError(shown, `'${shown}' is not a Parquet file (no PAR1 magic bytes)`);
      return size;
    }
    if (isParquet)
      throw dataError(shown, `'${shown}' is a Parquet file, not ${format.toUpperCase()}: name it .parquet`);
    if (head.includes(0))
      throw dataError(shown, `'${shown}' is not a ${format.toUpperCase()} text file (it holds binary data)`);
    if (format === 'jsonl') {
      const first = head.toString('utf8').trimStart();
      if (first === '') throw dataError(shown, `'${shown}' is empty`, { line: 1 });
      if (!first.startsWith('{'))
        throw dataError(shown, `'${shown}' is not JSON lines (a line must be a JSON object)`, { line: 1 });
    }
    return size;
  } finally {
    await fh.close();
  }
}

/**
 * Ingests `file` (called `shown` in messages: the uploader's file name, not a temp path) into
 * Parquet at `out`. Throws FALAJ_DATA_INVALID with file, line and column where DuckDB says.
 */
export async function ingestFile(
  ws: DuckWorkspace,
  file: string,
  shown: string,
  format: SourceFormat,
  out: string,
): Promise<IngestResult> {
  const bytes = await checkBytes(file, shown, format);
  const copy = (expression: string) =>
    ws.conn.run(`COPY (SELECT * FROM ${expression}) TO ${literal(out)} (FORMAT parquet, COMPRESSION zstd)`, [
      file,
    ]);
  let warnings: string[] = [];
  if (format === 'csv' || format === 'tsv') {
    warnings = (await readCsv(ws, file, shown, format === 'tsv' ? '\t' : ',', copy)).plan.warnings;
  } else {
    // JSON: the whole file is sampled for types, so no late value is cast into a narrower one.
    const expression =
      format === 'parquet'
        ? 'read_parquet($1)'
        : "read_json($1, format = 'newline_delimited', sample_size = -1)";
    try {
      await copy(expression);
    } catch (err) {
      throw readError(shown, format, err);
    }
  }
  const { schema, rowCount } = await parquetFacts(ws, out);
  if (rowCount === 0)
    throw dataError(shown, `'${shown}' has no data rows`, {
      line: format === 'csv' || format === 'tsv' ? 2 : 1,
    });
  return { format, schema, rowCount, bytes, warnings };
}

/** Column names and types, and the row count (from the footer, no scan). */
export async function parquetFacts(
  ws: DuckWorkspace,
  parquet: string,
): Promise<{ schema: ColumnSchema[]; rowCount: number }> {
  const described = await ws.rows('DESCRIBE SELECT * FROM read_parquet($1)', [parquet]);
  const count = await ws.rows('SELECT count(*) FROM read_parquet($1)', [parquet]);
  return {
    schema: described.map((r) => ({ name: String(r[0]), type: String(r[1]) })),
    rowCount: toNumber(count[0]?.[0]) ?? 0,
  };
}
