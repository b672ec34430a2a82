import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { PassThrough, type Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { validateArtifactPath } from '../../artifacts/artifact-paths.js';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';

type ArtifactRow = {
  path: string;
  digest: string;
  size: number;
  contentType: string;
  createdAt: string;
  createdBy: string;
};

/** Files at least this big get a progress bar (on a terminal, without --json). */
const PROGRESS_FROM_BYTES = 8 * 1024 * 1024;

const projectUrl = (project: string) => `/api/v1/projects/${encodeURIComponent(project)}`;
/**
 * Checked here first (a URL parser would quietly resolve `..` before the server could refuse
 * it); then each segment is encoded on its own, so `/` stays a separator.
 */
const fileUrl = (project: string, artifactPath: string) =>
  `${projectUrl(project)}/artifacts/files/${validateArtifactPath(artifactPath).split('/').map(encodeURIComponent).join('/')}`;

/** Sends one request with an optional streamed body; resolves with the response head. */
function send(
  client: FalajClient,
  method: string,
  urlPath: string,
  opts: { headers?: Record<string, string>; body?: Readable } = {},
): Promise<IncomingMessage> {
  const url = new URL(client.url + urlPath);
  const lib = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { ...opts.headers };
  if (client.token) headers.authorization = `Bearer ${client.token}`;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method, headers }, resolve);
    req.on('error', (err) =>
      reject(
        new FalajApiError(0, 'FALAJ_UNREACHABLE', `cannot reach ${client.url}: ${(err as Error).message}`),
      ),
    );
    if (opts.body) {
      // A refused upload is answered early; the rest of the file is then not sent.
      pipeline(opts.body, req).catch(() => {});
    } else req.end();
  });
}

async function readJson(res: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const chunk of res) parts.push(chunk as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  try {
    return text ? (JSON.parse(text) as unknown) : null;
  } catch {
    return { error: { message: text.slice(0, 200) } };
  }
}

async function failure(res: IncomingMessage): Promise<FalajApiError> {
  const e = (
    (await readJson(res)) as { error?: { code?: string; message?: string; details?: unknown } } | null
  )?.error;
  return new FalajApiError(
    res.statusCode ?? 0,
    e?.code ?? `HTTP_${res.statusCode}`,
    e?.message ?? res.statusMessage ?? 'request failed',
    e?.details,
  );
}

/** Counts bytes through a stream and drives a progress bar when one is shown. */
function progress(total: number, label: string, show: boolean): { meter: Transform; done(): void } {
  const bar = show
    ? new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {percentage}% | {value_mb}/{total_mb} MB | {speed} MB/s | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const start = Date.now();
  let seen = 0;
  let lastDraw = 0;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const payload = () => ({
    value_mb: mb(seen),
    total_mb: mb(total),
    speed: mb(seen / Math.max(0.001, (Date.now() - start) / 1000)),
  });
  bar?.start(total, 0, payload());
  const meter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      seen += chunk.length;
      const now = Date.now();
      if (bar && now - lastDraw > 100) {
        lastDraw = now;
        bar.update(seen, payload());
      }
      cb(null, chunk);
    },
  });
  return {
    meter,
    done() {
      if (bar) {
        bar.update(seen, payload());
        bar.stop();
      }
    },
  };
}

export function registerArtifactCommands(program: Command): void {
  const artifacts = program
    .command('artifacts')
    .description('Artifact files of a project (streamed, encrypted at rest, verified by SHA-256)');

  remoteOptions(
    artifacts
      .command('put <project> <file>')
      .description('Upload a file (streamed; it is never read whole into memory)')
      .option('--path <path>', 'artifact path in the project (default: the file name)')
      .option('--content-type <type>', 'content type to record', 'application/octet-stream'),
  ).action(
    action(async (client, opts, project: string, file: string) => {
      const artifactPath = typeof opts.path === 'string' ? opts.path : path.basename(file);
      const { size } = await stat(file);
      const meter = progress(
        size,
        'upload',
        !opts.json && process.stderr.isTTY === true && size >= PROGRESS_FROM_BYTES,
      );
      const body = new PassThrough();
      pipeline(createReadStream(file), meter.meter, body).catch((err: unknown) => body.destroy(err as Error));
      let res: IncomingMessage;
      try {
        res = await send(client, 'PUT', fileUrl(project, artifactPath), {
          headers: { 'content-type': String(opts.contentType), 'content-length': String(size) },
          body,
        });
      } finally {
        meter.done();
      }
      if (res.statusCode !== 201) throw await failure(res);
      const result = (await readJson(res)) as { path: string; digest: string; size: number };
      printResult(result, opts, ['path', 'size', 'digest']);
    }),
  );

  remoteOptions(
    artifacts
      .command('get <project> <path>')
      .description('Download a file (streamed; checked against its SHA-256 before it is kept)')
      .option('-o, --output <file>', 'write to this file (default: standard output)'),
  ).action(
    action(async (client, opts, project: string, artifactPath: string) => {
      const res = await send(client, 'GET', fileUrl(project, artifactPath));
      if (res.statusCode !== 200) throw await failure(res);
      const expected = String(res.headers['x-falaj-digest'] ?? '');
      const total = Number(res.headers['content-length'] ?? 0);
      const output = typeof opts.output === 'string' && opts.output !== '-' ? opts.output : undefined;
      // Into a file beside the target, renamed only once complete and verified.
      const partial = output ? `${output}.falaj-partial-${process.pid}` : undefined;
      const sink: Writable = partial ? createWriteStream(partial, { flags: 'wx' }) : process.stdout;
      const hash = createHash('sha256');
      let bytes = 0;
      const check = new Transform({
        transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
          hash.update(chunk);
          bytes += chunk.length;
          cb(null, chunk);
        },
      });
      const meter = progress(
        total,
        'download',
        !opts.json && process.stderr.isTTY === true && total >= PROGRESS_FROM_BYTES,
      );
      let cutShort = false;
      res.once('aborted', () => {
        cutShort = true;
      });
      try {
        await pipeline(res, check, meter.meter, sink, { end: sink !== process.stdout });
        if (cutShort || bytes !== total)
          throw new FalajApiError(
            0,
            'FALAJ_ARTIFACT_INTEGRITY',
            `download cut short at ${bytes} of ${total} bytes (the server found damaged data, or the connection broke)`,
          );
        const digest = hash.digest('hex');
        if (digest !== expected) {
          throw new FalajApiError(
            0,
            'FALAJ_ARTIFACT_INTEGRITY',
            `downloaded bytes hash to ${digest}, the server said ${expected}`,
          );
        }
        if (partial && output) await rename(partial, output);
      } catch (err) {
        if (partial) await rm(partial, { force: true });
        if (err instanceof FalajApiError) throw err;
        throw new FalajApiError(
          0,
          'FALAJ_ARTIFACT_INTEGRITY',
          `download failed after ${bytes} of ${total} bytes: ${(err as Error).message}`,
        );
      } finally {
        meter.done();
      }
      if (output)
        printResult({ path: artifactPath, digest: expected, size: bytes, file: output }, opts, [
          'path',
          'size',
          'digest',
          'file',
        ]);
    }),
  );

  remoteOptions(
    artifacts
      .command('list <project>')
      .description('List files (all pages), ordered by path')
      .option('--prefix <prefix>', 'only paths starting with this'),
  ).action(
    action(async (client, opts, project: string) => {
      const rows: ArtifactRow[] = [];
      let after: string | null = null;
      do {
        const q = new URLSearchParams({ limit: '1000' });
        if (typeof opts.prefix === 'string') q.set('prefix', opts.prefix);
        if (after !== null) q.set('after', after);
        const page: { artifacts: ArtifactRow[]; next: string | null } = await client.get(
          `${projectUrl(project)}/artifacts?${q.toString()}`,
        );
        rows.push(...page.artifacts);
        after = page.next;
      } while (after !== null);
      printResult(rows, opts, ['path', 'size', 'digest', 'createdAt', 'createdBy']);
    }),
  );

  remoteOptions(
    artifacts
      .command('rm <project> <path>')
      .description('Delete a file (maintainer); its stored blob goes when no other path uses it'),
  ).action(
    action(async (client, opts, project: string, artifactPath: string) => {
      await client.delete(fileUrl(project, artifactPath));
      printMessage(`deleted ${artifactPath} from ${project}`, opts);
    }),
  );
}
