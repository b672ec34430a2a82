// Opens a deployment's request log in a private DuckDB: the hour partitions' files decrypted into
// a scratch folder, views `requests` and `labelled` over them.
import path from 'node:path';
import { blobToFile } from '../../artifacts/blob-file.js';
import { DuckWorkspace, literal, quoteIdent } from '../../data/workspace.js';
import type { Services } from '../../http/services.js';
import { hourOf } from './entry.js';
import { FIXED_COLUMNS } from './layout.js';

export interface RequestLogReader {
  /**
   * Runs SQL and returns rows as JS objects (BIGINT as bigint). DuckDB here reads only its scratch
   * folder (external access off, configuration locked), but it is meant for server-side code.
   */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Closes DuckDB and removes the scratch folder. */
  close(): Promise<void>;
}

/** The log files of a deployment whose hours overlap [from, to). */
export async function logFilesOf(
  svc: Services,
  deploymentId: string,
  range: { from?: number; to?: number } = {},
): Promise<{ digest: string; hour: number; path: string }[]> {
  let q = svc.store.db
    .selectFrom('serving_log_files')
    .select(['digest', 'hour', 'path'])
    .where('deployment_id', '=', deploymentId);
  if (range.from !== undefined) q = q.where('hour', '>=', hourOf(range.from));
  if (range.to !== undefined) q = q.where('hour', '<', range.to);
  const rows = await q.orderBy('hour').orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => ({ digest: r.digest, hour: Number(r.hour), path: r.path }));
}

function timeBound(ms: number): string {
  return `epoch_ms(${Math.trunc(ms)}::BIGINT)`;
}

/**
 * Opens the log of a deployment between [from, to) ms (default: all). Views: `requests` (one row
 * per logged row: the fixed columns, `in_<input>`, `out_label`, `out_proba_<class>`, `out_value`)
 * and `labelled` (requests LEFT JOIN the labels on request_id, row, adding `label`: DOUBLE when
 * every label of the deployment is a number, else VARCHAR).
 */
export async function openRequestLog(
  svc: Services,
  deploymentId: string,
  range: { from?: number; to?: number } = {},
): Promise<RequestLogReader> {
  const ws = await DuckWorkspace.open(path.join(svc.config.dataDir, 'tmp'));
  try {
    const files = await logFilesOf(svc, deploymentId, range);
    const local: string[] = [];
    for (const [i, f] of files.entries())
      local.push(await blobToFile(svc, f.digest, ws.file(`log-${i}.parquet`)));

    const where: string[] = [];
    if (range.from !== undefined) where.push(`"time" >= ${timeBound(range.from)}`);
    if (range.to !== undefined) where.push(`"time" < ${timeBound(range.to)}`);
    const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    if (local.length > 0) {
      const list = local.map(literal).join(', ');
      await ws.conn.run(
        `CREATE VIEW requests AS SELECT * FROM read_parquet([${list}], union_by_name = true)${filter}`,
      );
    } else {
      const cols = FIXED_COLUMNS.map(([n, t]) => `${quoteIdent(n)} ${t}`).join(', ');
      await ws.conn.run(`CREATE TABLE empty_requests (${cols})`);
      await ws.conn.run('CREATE VIEW requests AS SELECT * FROM empty_requests');
    }

    const labels = await svc.store.db
      .selectFrom('serving_labels')
      .select(['request_id', 'row', 'label'])
      .where('deployment_id', '=', deploymentId)
      .execute();
    const parsed = labels.map((l) => JSON.parse(l.label) as string | number);
    const numeric = parsed.every((v) => typeof v === 'number');
    await ws.conn.run(
      `CREATE TABLE labels (request_id VARCHAR, "row" INTEGER, label ${numeric ? 'DOUBLE' : 'VARCHAR'})`,
    );
    const a = await ws.conn.createAppender('labels');
    try {
      labels.forEach((l, i) => {
        a.appendVarchar(l.request_id);
        a.appendInteger(Number(l.row));
        const v = parsed[i]!;
        if (numeric) a.appendDouble(v as number);
        else a.appendVarchar(String(v));
        a.endRow();
      });
      a.flushSync();
    } finally {
      a.closeSync();
    }
    await ws.conn.run(
      'CREATE VIEW labelled AS SELECT r.*, l.label FROM requests r LEFT JOIN labels l ' +
        'ON l.request_id = r.request_id AND l."row" = r."row"',
    );
    // Queries see the scratch folder only: no other file, no URL, and no setting changes that.
    await ws.conn.run(`SET allowed_directories = [${literal(ws.dir + path.sep)}]`);
    await ws.conn.run('SET enable_external_access = false');
    await ws.conn.run('SET lock_configuration = true');
  } catch (err) {
    await ws.close().catch(() => {});
    throw err;
  }
  let closed = false;
  return {
    async query<T>(sql: string): Promise<T[]> {
      return (await ws.conn.runAndReadAll(sql)).getRowObjectsJS() as T[];
    },
    async close() {
      if (closed) return;
      closed = true;
      await ws.close();
    },
  };
}
