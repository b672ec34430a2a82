// Reading a CSV or Parquet file through DuckDB into typed arrays, column by column. The
// path always travels as a bound parameter, never inside the SQL text, and only local files
// are read (DuckDB would otherwise follow URLs and glob patterns).
import { open, stat } from 'node:fs/promises';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBMaterializedResult,
  DuckDBTypeId,
} from '@duckdb/node-api';
import { FalajError } from '../../core/errors.js';

export type FileFormat = 'csv' | 'parquet';

/** How a source column is read: as numbers, as text (to be coded), or as epoch seconds. */
export type ReadMode = 'numeric' | 'text' | 'epoch';

export interface SourceColumn {
  readonly name: string;
  readonly typeId: DuckDBTypeId;
  /** DuckDB's name for the type, e.g. BIGINT, VARCHAR. */
  readonly type: string;
}

/** Text read as dense codes into sorted `levels` (-1 = NULL). */
export interface TextValues {
  readonly codes: Int32Array;
  readonly levels: string[];
}

const NUMERIC_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
]);

const INTEGER_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT,
]);

const TIME_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.DATE,
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_S,
  DuckDBTypeId.TIMESTAMP_MS,
  DuckDBTypeId.TIMESTAMP_NS,
  DuckDBTypeId.TIMESTAMP_TZ,
]);

export function isNumericType(t: DuckDBTypeId): boolean {
  return NUMERIC_TYPES.has(t);
}

export function isIntegerType(t: DuckDBTypeId): boolean {
  return INTEGER_TYPES.has(t);
}

/**
 * The default read mode of a feature column: numbers and booleans (as 0/1) are numeric,
 * dates and timestamps become numeric epoch seconds (so they can order time splits), and
 * everything else (text, times of day, UUIDs, nested values) is read as text.
 */
export function featureMode(t: DuckDBTypeId): ReadMode {
  if (NUMERIC_TYPES.has(t) || t === DuckDBTypeId.BOOLEAN) return 'numeric';
  if (TIME_TYPES.has(t)) return 'epoch';
  return 'text';
}

function dataError(path: string, message: string, details: Record<string, unknown> = {}): FalajError {
  return new FalajError('FALAJ_DATA_INVALID', message, { file: path, ...details });
}

/** The format a file's name says it has. */
export function formatOf(path: string): FileFormat {
  const lower = path.toLowerCase();
  if (/\.(csv|tsv|txt)(\.gz|\.zst)?$/.test(lower)) return 'csv';
  if (/\.(parquet|pq)$/.test(lower)) return 'parquet';
  throw new FalajError(
    'FALAJ_INVALID_ARGUMENT',
    `cannot tell the format of '${path}': use a .csv, .tsv, .csv.gz or .parquet file`,
    { file: path },
  );
}

/**
 * Checks the file exists and that its bytes agree with its extension: Parquet files begin
 * and end with PAR1; a CSV file holds no NUL bytes in its first 64 KiB (binary formats do).
 */
export async function checkFile(path: string, format: FileFormat): Promise<void> {
  if (/[*?[\]]/.test(path)) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `'${path}': glob characters are not accepted in a data path`,
      {
        file: path,
      },
    );
  }
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw dataError(path, `'${path}' is not a file`);
    size = s.size;
  } catch (err) {
    if (err instanceof FalajError) throw err;
    throw dataError(path, `cannot read '${path}': ${(err as Error).message}`);
  }
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 65_536));
    await fh.read(head, 0, head.length, 0);
    const lower = path.toLowerCase();
    if (format === 'parquet') {
      const tail = Buffer.alloc(4);
      if (size >= 8) await fh.read(tail, 0, 4, size - 4);
      if (
        size < 8 ||
        head.subarray(0, 4).toString('latin1') !== 'PAR1' ||
        tail.toString('latin1') !== 'PAR1'
      ) {
        throw dataError(path, `'${path}' is not a Parquet file (no PAR1 magic bytes)`);
      }
    } else if (lower.endsWith('.gz')) {
      if (head[0] !== 0x1f || head[1] !== 0x8b) throw dataError(path, `'${path}' is not gzip-compressed`);
    } else if (!lower.endsWith('.zst')) {
      if (head.subarray(0, 4).toString('latin1') === 'PAR1') {
        throw dataError(path, `'${path}' is a Parquet file, not CSV: rename it to .parquet`);
      }
      if (head.includes(0)) throw dataError(path, `'${path}' is not a CSV text file (it holds binary data)`);
    }
  } finally {
    await fh.close();
  }
}

const CSV_TYPES = "['DOUBLE', 'DATE', 'TIMESTAMP', 'TIME', 'VARCHAR']";

/** Errors raised by a failed type conversion, which a full-file type detection may cure. */
const conversionErrors = new WeakSet<object>();

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An open in-memory DuckDB reading one file. Close it when done. */
export class SourceReader {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly path: string,
    readonly format: FileFormat,
    private fullSample: boolean,
  ) {}

  static async open(path: string): Promise<SourceReader> {
    const format = formatOf(path);
    await checkFile(path, format);
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    return new SourceReader(instance, conn, path, format, false);
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }

  /**
   * The table function over the file; $1 is bound to the path. CSV type detection leaves
   * out BOOLEAN (it would turn yes/no into true/false and lose the file's spelling of class
   * names) and the integer types (DuckDB rounds a later '1.5' into a column sniffed as
   * BIGINT without an error); numbers are all read as DOUBLE.
   */
  private from(): string {
    if (this.format === 'parquet') return 'read_parquet($1)';
    // sample_size = -1 makes the sniffer read every row before settling column types.
    return `read_csv($1, auto_type_candidates = ${CSV_TYPES}${this.fullSample ? ', sample_size = -1' : ''})`;
  }

  private async run(sql: string): Promise<DuckDBMaterializedResult> {
    try {
      return await this.conn.run(sql, [this.path]);
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      const first = message.split('\n').find((l) => l.trim() !== '') ?? message;
      const e = dataError(this.path, `cannot read '${this.path}' as ${this.format.toUpperCase()}: ${first}`, {
        format: this.format,
      });
      if (/convert|conversion|cast/i.test(message)) conversionErrors.add(e);
      throw e;
    }
  }

  /**
   * Looks at the columns, lets `plan` choose what to read, and reads it. The CSV sniffer
   * guesses column types from a sample; when a later row does not fit its guess, the whole
   * file is sampled and planned again once.
   */
  async scan<T>(
    plan: (columns: SourceColumn[]) => { requests: readonly { name: string; mode: ReadMode }[]; context: T },
  ): Promise<{ nRows: number; values: (Float64Array | TextValues)[]; context: T }> {
    for (;;) {
      const { requests, context } = plan(await this.columns());
      try {
        return { ...(await this.read(requests)), context };
      } catch (err) {
        if (this.format !== 'csv' || this.fullSample || !conversionErrors.has(err as object)) throw err;
        this.fullSample = true;
      }
    }
  }

  async columns(): Promise<SourceColumn[]> {
    const r = await this.run(`SELECT * FROM ${this.from()} LIMIT 0`);
    const names = r.columnNames();
    return names.map((name, i) => ({ name, typeId: r.columnTypeId(i), type: String(r.columnType(i)) }));
  }

  /**
   * Reads the given columns in file order. Numeric columns come back as Float64Array
   * (NULL → NaN), text columns as codes into sorted levels.
   */
  async read(requests: readonly { name: string; mode: ReadMode }[]): Promise<{
    nRows: number;
    values: (Float64Array | TextValues)[];
  }> {
    const exprs = requests.map(({ name, mode }) => {
      const id = quoteIdent(name);
      if (mode === 'numeric') return `CAST(${id} AS DOUBLE)`;
      if (mode === 'epoch') return `CAST(epoch(${id}) AS DOUBLE)`;
      return `CAST(${id} AS VARCHAR)`;
    });
    const sql = `SELECT ${exprs.length > 0 ? exprs.join(', ') : 'NULL'} FROM ${this.from()}`;
    const result = await this.run(sql);
    const n = result.rowCount;
    const numeric: (Float64Array | null)[] = requests.map((r) =>
      r.mode === 'text' ? null : new Float64Array(n),
    );
    const text = requests.map((r) => (r.mode === 'text' ? new TextBuilder(n) : null));
    let offset = 0;
    for (let ci = 0; ci < result.chunkCount; ci++) {
      const chunk = result.getChunk(ci);
      const rows = chunk.rowCount;
      for (let j = 0; j < requests.length; j++) {
        const vector = chunk.getColumnVector(j);
        const out = numeric[j];
        if (out) {
          for (let i = 0; i < rows; i++) {
            const v = vector.getItem(i) as number | null;
            out[offset + i] = v === null ? Number.NaN : v;
          }
        } else {
          const b = text[j] as TextBuilder;
          for (let i = 0; i < rows; i++) b.set(offset + i, vector.getItem(i) as string | null);
        }
      }
      offset += rows;
    }
    return {
      nRows: n,
      values: requests.map((_, j) => numeric[j] ?? (text[j] as TextBuilder).finish()),
    };
  }
}

/** Builds codes in order of first appearance, then renumbers them into sorted levels. */
export class TextBuilder {
  private readonly index = new Map<string, number>();
  private readonly seen: string[] = [];
  readonly codes: Int32Array;

  constructor(n: number) {
    this.codes = new Int32Array(n);
  }

  set(row: number, value: string | null): void {
    if (value === null) {
      this.codes[row] = -1;
      return;
    }
    let c = this.index.get(value);
    if (c === undefined) {
      c = this.seen.length;
      this.index.set(value, c);
      this.seen.push(value);
    }
    this.codes[row] = c;
  }

  finish(): TextValues {
    // Code-unit order: the same on every platform and locale.
    const levels = [...this.seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const rank = new Int32Array(this.seen.length);
    levels.forEach((l, i) => {
      rank[this.index.get(l) as number] = i;
    });
    const codes = this.codes;
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i] as number;
      if (c >= 0) codes[i] = rank[c] as number;
    }
    return { codes, levels };
  }
}
