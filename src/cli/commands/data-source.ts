// What the data commands work on: a local file (CSV, TSV, Parquet, JSON lines), ingested into
// a private DuckDB exactly as the server would, or a version `dataset@N` on the server.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { DATASET_NAME_PATTERN } from '../../data/dataset-store.js';
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

// A bare NAME names a dataset only when it cannot be a data file: no file by that name here, and
// no data file's extension.
const DATASET_NAME = new RegExp(DATASET_NAME_PATTERN);
const DATA_FILE = /\.(csv|tsv|txt|parquet|pq|jsonl|ndjson|json)$/i;

/**
 * What `falaj train --data` names on the server: `NAME@N`, `NAME@latest`, or a bare `NAME` (its
 * newest version), when no local file has that name; null for a local file.
 */
export function parseTrainingDataRef(arg: string): { dataset: string; version: string } | null {
  const ref = parseVersionRef(arg);
  if (ref) return ref;
  if (existsSync(arg) || DATA_FILE.test(arg) || !DATASET_NAME.test(arg)) return null;
  return { dataset: arg, version: 'latest' };
}

/** A dataset version as the server describes it (the fields training reads). */
export interface VersionInfo {
  dataset: string;
  version: number;
  digest: string;
  rowCount: number;
  status: string;
  usableForTraining: boolean;
}

/**
 * The version a reference names, refused as the server's training gate refuses it: a version
 * that failed its validation suite (and was not overridden) is FALAJ_DATA_NOT_USABLE.
 */
export async function usableVersion(
  client: FalajClient,
  ref: { dataset: string; version: string },
): Promise<VersionInfo> {
  const v = await client.get<VersionInfo>(versionUrl(client, ref));
  if (!v.usableForTraining)
    throw new FalajApiError(
      409,
      'FALAJ_DATA_NOT_USABLE',
      `${v.dataset}@${v.version} failed its validation suite: it cannot feed training until a new version passes or an admin overrides it`,
      { dataset: v.dataset, version: v.version, status: v.status },
    );
  return v;
}

/** Downloads a version's Parquet into `dir`; its bytes must have the version's digest. */
export async function downloadVersion(client: FalajClient, v: VersionInfo, dir: string): Promise<string> {
  const file = path.join(dir, `${v.dataset}-v${v.version}.parquet`);
  const res = await client.request<Response>(
    'GET',
    `${versionUrl(client, { dataset: v.dataset, version: String(v.version) })}/data`,
    { as: 'response' },
  );
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream), tap, createWriteStream(file));
  const digest = hash.digest('hex');
  if (digest !== v.digest)
    throw new FalajApiError(
      0,
      'FALAJ_DATA_INVALID',
      `${v.dataset}@${v.version}: the downloaded bytes have digest ${digest}, not the version's ${v.digest}`,
      { dataset: v.dataset, version: v.version },
    );
  return file;
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
