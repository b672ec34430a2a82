// Writes one partition's entries (one deployment, one hour) as a Parquet file with DuckDB, puts
// it in the artifact store (sealed like every artifact) and records it in `serving_log_files`.
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBAppender } from '@duckdb/node-api';
import { newId } from '../../core/ids.js';
import { DuckWorkspace, literal, quoteIdent } from '../../data/workspace.js';
import type { Services } from '../../http/services.js';
import type { RequestLogEntry } from './entry.js';
import { hourOf, rowsOf } from './entry.js';
import { type DataColumn, FIXED_COLUMNS, layoutOf } from './layout.js';
import { projectHashKey } from './pii-key.js';

/** A failure of the artifact store or the metadata store: the entries are kept and retried. */
export class LogStoreError extends Error {
  constructor(cause: unknown) {
    super(`request log: storing a file failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'LogStoreError';
  }
}

/** Rows appended between two yields to the event loop. */
const YIELD_ROWS = 2048;

/** `serving-logs/<deployment>/<yyyy-mm-ddThh>/<id>.parquet` (UTC hour). */
export function logFilePath(deployment: string, hour: number, id: string): string {
  const safe = deployment.replace(/[^A-Za-z0-9._-]/g, '_') || '_';
  return `serving-logs/${safe}/${new Date(hour).toISOString().slice(0, 13)}/${id}.parquet`;
}

function appendFixed(a: DuckDBAppender, e: RequestLogEntry, row: number, failed: boolean): void {
  a.appendVarchar(e.requestId);
  a.appendInteger(row);
  a.appendBigInt(BigInt(Math.trunc(e.time)));
  a.appendInteger(e.revision);
  a.appendVarchar(e.model);
  a.appendInteger(e.modelVersion);
  a.appendVarchar(e.variant);
  a.appendVarchar(e.protocol);
  a.appendInteger(e.status);
  if (Number.isFinite(e.latencyMs)) a.appendDouble(e.latencyMs);
  else a.appendNull();
  if (e.error !== undefined) a.appendVarchar(e.error);
  else if (failed) a.appendVarchar(`HTTP ${e.status}`);
  else a.appendNull();
}

function appendCell(a: DuckDBAppender, col: DataColumn, e: RequestLogEntry, row: number): void {
  const v = col.cell(e, row);
  if (v === null) a.appendNull();
  else if (col.kind === 'DOUBLE') a.appendDouble(v as number);
  else a.appendVarchar(String(v));
}

/** Writes the Parquet file of `entries` in `ws`; returns its path and row count. */
async function writeParquet(
  ws: DuckWorkspace,
  entries: readonly RequestLogEntry[],
  hashKey: (projectId: string) => Buffer,
): Promise<{ file: string; rows: number }> {
  const cols = layoutOf(entries, hashKey);
  const fixedDdl = FIXED_COLUMNS.map(([n, t]) =>
    n === 'time' ? `"time_ms" BIGINT` : `${quoteIdent(n)} ${t}`,
  );
  const ddl = [...fixedDdl, ...cols.map((c) => `${quoteIdent(c.name)} ${c.kind}`)].join(', ');
  await ws.conn.run(`CREATE OR REPLACE TABLE log_rows (${ddl})`);
  const a = await ws.conn.createAppender('log_rows');
  let rows = 0;
  try {
    for (const e of entries) {
      const n = rowsOf(e);
      const failed = !e.batch && e.status >= 400;
      for (let r = 0; r < n; r++) {
        appendFixed(a, e, r, failed);
        for (const c of cols) appendCell(a, c, e, r);
        a.endRow();
        rows++;
        // The appender runs on the event loop inference shares: let requests through between
        // slices, so a flush of 50,000 rows does not stall them for its whole length.
        if (rows % YIELD_ROWS === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    a.flushSync();
  } finally {
    a.closeSync();
  }
  const select = [
    ...FIXED_COLUMNS.map(([n]) => (n === 'time' ? `epoch_ms("time_ms") AS "time"` : quoteIdent(n))),
    ...cols.map((c) => quoteIdent(c.name)),
  ].join(', ');
  const file = ws.file(`${newId()}.parquet`);
  await ws.conn.run(
    `COPY (SELECT ${select} FROM log_rows ORDER BY "time_ms", request_id, "row") TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  await ws.conn.run('DROP TABLE log_rows');
  return { file, rows };
}

export interface WrittenFile {
  id: string;
  digest: string;
  path: string;
  rows: number;
  hour: number;
}

/**
 * Writes and stores the file of one partition. A DuckDB failure (the entries cannot be written)
 * throws as is; a failure to store the file throws LogStoreError (worth retrying).
 */
export async function writeLogFile(
  svc: Services,
  ws: DuckWorkspace,
  entries: readonly RequestLogEntry[],
  hashKey: (projectId: string) => Buffer = (projectId) => projectHashKey(svc, projectId),
): Promise<WrittenFile> {
  const first = entries[0]!;
  const hour = hourOf(first.time);
  if (entries.some((e) => e.privacy?.policy === 'hash')) {
    try {
      hashKey(first.projectId); // the keyring unavailable: worth retrying, not a bad entry
    } catch (err) {
      throw new LogStoreError(err);
    }
  }
  const { file, rows } = await writeParquet(ws, entries, hashKey);
  const bytes = (await stat(file)).size;
  let firstAt = Number.POSITIVE_INFINITY;
  let lastAt = Number.NEGATIVE_INFINITY;
  for (const e of entries) {
    firstAt = Math.min(firstAt, e.time);
    lastAt = Math.max(lastAt, e.time);
  }
  const id = newId();
  const artifactPath = logFilePath(first.deployment, hour, id);
  // Registered with the reaper: a blob deduplicated against must not vanish before its row exists.
  const release = await svc.reaper.enter();
  let digest: string | undefined;
  const source = createReadStream(file);
  try {
    digest = (await svc.artifacts.put(source)).digest;
    await svc.store.db
      .insertInto('serving_log_files')
      .values({
        id,
        project_id: first.projectId,
        deployment_id: first.deploymentId,
        hour,
        digest,
        path: artifactPath,
        rows,
        bytes,
        first_at: Math.trunc(firstAt),
        last_at: Math.trunc(lastAt),
        created_at: svc.clock.now(),
      })
      .execute();
  } catch (err) {
    // A blob put without its row is unreferenced: the reaper removes it (unless another holds it).
    if (digest) void svc.reaper.consider(digest);
    throw new LogStoreError(err);
  } finally {
    release();
    source.destroy();
    await rm(file, { force: true });
  }
  return { id, digest, path: artifactPath, rows, hour };
}

/** A private DuckDB for writing log files, spilling under the data dir's tmp/. */
export function openLogWorkspace(svc: Services): Promise<DuckWorkspace> {
  return DuckWorkspace.open(path.join(svc.config.dataDir, 'tmp'));
}
