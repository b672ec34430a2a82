// A private DuckDB for one piece of data work: in memory, spilling to its own temp folder, with
// extension auto-loading off (a path must never make DuckDB fetch httpfs and read a URL).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';

export class DuckWorkspace {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
    /** Holds uploads, Parquet written here and DuckDB's spill files; removed by close(). */
    readonly dir: string,
  ) {}

  /** `parent`: where the temp folder goes (the server uses its data dir, so nothing lands in /tmp). */
  static async open(parent: string = os.tmpdir()): Promise<DuckWorkspace> {
    await mkdir(parent, { recursive: true });
    const dir = await mkdtemp(path.join(parent, 'falaj-data-'));
    const instance = await DuckDBInstance.create(':memory:', {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      temp_directory: path.join(dir, 'spill'),
    });
    const conn = await instance.connect();
    return new DuckWorkspace(instance, conn, dir);
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Rows as plain JS values (BIGINT as bigint, lists as arrays). */
  async rows(sql: string, params?: DuckDBValue[] | Record<string, DuckDBValue>): Promise<unknown[][]> {
    return (await this.conn.runAndReadAll(sql, params)).getRowsJS() as unknown[][];
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A SQL string literal (DuckDB has no backslash escapes in standard strings). */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A number from DuckDB (bigint, number or null) as a JS number; null stays null. */
export function toNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
