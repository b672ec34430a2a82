// What the data commands work on: a local file (CSV, TSV, Parquet, JSON lines), ingested into
// a private DuckDB exactly as the server would, or a version `dataset@N` on the server.
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { formatOf, ingestFile } from '../../data/ingest.js';
import type { ColumnSchema } from '../../data/types.js';
import { DuckWorkspace } from '../../data/workspace.js';

const VERSION = /^([A-Za-z0-9][A-Za-z0-9._-]*)@(\d+|latest)$/;

/** `dataset@N` when the argument looks like one and no local file has that name. */
export function parseVersionRef(arg: string): { dataset: string; version: string } | null {
  const m = VERSION.exec(arg);
  if (!m || existsSync(arg)) return null;
  return { dataset: m[1] as string, version: m[2] as string };
}

export function datasetsUrl(client: FalajClient): string {
  if (!client.project) {
    throw new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', 'name the project: --project NAME or FALAJ_PROJECT');
  }
  return `/api/v1/projects/${encodeURIComponent(client.project)}/datasets`;
}

export function versionUrl(client: FalajClient, ref: { dataset: string; version: string }): string {
  return `${datasetsUrl(client)}/${encodeURIComponent(ref.dataset)}/versions/${ref.version}`;
}

/** Streams a local file as the body of a new version. */
export async function uploadVersion(client: FalajClient, dataset: string, file: string): Promise<unknown> {
  const name = file.split(/[\\/]/).pop() as string;
  formatOf(name);
  return client.request('POST', `${datasetsUrl(client)}/${encodeURIComponent(dataset)}/versions`, {
    query: { fileName: name },
    body: {
      body: Readable.toWeb(createReadStream(file)),
      headers: { 'content-type': 'application/octet-stream' },
    },
  });
}

/** A prepared table: a Parquet file in `ws` and its columns. */
export interface Prepared {
  parquet: string;
  schema: ColumnSchema[];
  warnings: string[];
}

/** Ingests a local file, or downloads a version, into `ws`. */
export async function prepare(
  ws: DuckWorkspace,
  client: FalajClient,
  arg: string,
  label: string,
): Promise<Prepared> {
  const ref = parseVersionRef(arg);
  const out = ws.file(`${label}.parquet`);
  if (!ref) {
    const r = await ingestFile(ws, arg, arg, formatOf(arg), out);
    return { parquet: out, schema: r.schema, warnings: r.warnings };
  }
  const res = await client.request<Response>('GET', `${versionUrl(client, ref)}/data`, { as: 'response' });
  await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream), createWriteStream(out));
  const described = await ws.rows('DESCRIBE SELECT * FROM read_parquet($1)', [out]);
  return {
    parquet: out,
    schema: described.map((r) => ({ name: String(r[0]), type: String(r[1]) })),
    warnings: [],
  };
}

/** Runs `fn` with a workspace that is removed afterwards. */
export async function withWorkspace<T>(fn: (ws: DuckWorkspace) => Promise<T>): Promise<T> {
  const ws = await DuckWorkspace.open();
  try {
    return await fn(ws);
  } finally {
    await ws.close();
  }
}
