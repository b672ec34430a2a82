import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FalajApiError, type FalajClient } from '../client/index.js';
import { exitHook } from './exit-hook.js';
import { type Batch, LogBuffer } from './log-buffer.js';
import type { ArtifactFile, RunInfo, RunStatus, UploadedArtifact } from './types.js';
import { encodeMetricValue } from './wire.js';

const MLFLOW = '/api/2.0/mlflow';
const MAX_KEY = 250;
const MAX_PARAM_VALUE = 6000;
const MAX_TAG_VALUE = 8000;

/** What a Run needs from the client that made it. */
export interface RunHost {
  transport: FalajClient;
  flushIntervalMs: number;
  onError: (err: unknown) => void;
  projectName(): Promise<string>;
  listArtifacts(runId: string, path?: string): Promise<ArtifactFile[]>;
}

/** The project artifact path that holds a run's artifacts (the MLflow artifact root of the run). */
export function runArtifactPrefix(runId: string): string {
  return `runs/${runId}/artifacts/`;
}

function invalid(message: string): FalajApiError {
  return new FalajApiError(0, 'INVALID_PARAMETER_VALUE', message);
}

function checkKey(kind: string, key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw invalid(`${kind} key must be a non-empty string`);
  if (key.length > MAX_KEY) throw invalid(`${kind} key '${key.slice(0, 40)}…' is longer than ${MAX_KEY}`);
  return key;
}

function checkValue(kind: string, key: string, value: unknown, max: number): string {
  if (value === undefined || value === null || typeof value === 'object' || typeof value === 'function')
    throw invalid(`${kind} '${key}' must be a string, number or boolean`);
  const s = String(value);
  if (s.length > max) throw invalid(`${kind} '${key}' value is longer than ${max}`);
  return s;
}

/**
 * A run being logged to. Params, metrics and tags are buffered and sent in log-batch requests
 * in the background (when a batch fills, and every `flushIntervalMs`); `flush()` waits for all
 * of it and throws the first error the server gave since the last flush. `end()` flushes and
 * closes the run. A run still open when the event loop empties is flushed (and, if this
 * process created it, ended FINISHED) by a `beforeExit` hook; `process.exit()` and uncaught
 * exceptions skip that hook, so call `await run.end()` yourself.
 */
export class Run {
  readonly id: string;
  readonly experimentId: string;
  /** True when this process attached to a run made elsewhere (FALAJ_RUN_ID): exit flushes but does not end it. */
  readonly attached: boolean;
  info: RunInfo;
  private readonly buffer: LogBuffer;
  private readonly params = new Map<string, string>();
  private ended = false;

  constructor(
    private readonly host: RunHost,
    info: RunInfo,
    attached: boolean,
  ) {
    this.info = info;
    this.id = info.run_id;
    this.experimentId = info.experiment_id;
    this.attached = attached;
    this.buffer = new LogBuffer((b) => this.sendBatch(b), host.flushIntervalMs, host.onError);
    exitHook.add(this);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Entities buffered or in flight. */
  get pending(): boolean {
    return this.buffer.busy;
  }

  private open(): void {
    if (this.ended) throw new FalajApiError(0, 'BAD_REQUEST', `run ${this.id} has ended in this client`);
  }

  /**
   * A param; params never change once logged, so a different value for a key already logged
   * by this client throws at once (rather than failing a whole batch on the server).
   */
  logParam(key: string, value: string | number | boolean): void {
    this.open();
    checkKey('param', key);
    const v = checkValue('param', key, value, MAX_PARAM_VALUE);
    const had = this.params.get(key);
    if (had !== undefined) {
      if (had !== v)
        throw invalid(`param '${key}' was already logged with value '${had}'; params cannot change`);
      return;
    }
    this.params.set(key, v);
    this.buffer.addParam({ key, value: v });
  }

  logParams(params: Record<string, string | number | boolean>): void {
    for (const [k, v] of Object.entries(params)) this.logParam(k, v);
  }

  /** A metric point; NaN and ±Infinity are kept. `step` defaults to 0, `timestamp` to now (ms). */
  logMetric(key: string, value: number, opts: { step?: number; timestamp?: number } = {}): void {
    this.open();
    checkKey('metric', key);
    if (typeof value !== 'number') throw invalid(`metric '${key}' value must be a number`);
    const step = opts.step ?? 0;
    const timestamp = opts.timestamp ?? Date.now();
    if (!Number.isSafeInteger(step)) throw invalid(`metric '${key}' step must be an integer`);
    if (!Number.isSafeInteger(timestamp))
      throw invalid(`metric '${key}' timestamp must be integer milliseconds`);
    this.buffer.addMetric({ key, value: encodeMetricValue(value), step, timestamp });
  }

  logMetrics(metrics: Record<string, number>, opts: { step?: number; timestamp?: number } = {}): void {
    const timestamp = opts.timestamp ?? Date.now();
    for (const [k, v] of Object.entries(metrics)) this.logMetric(k, v, { ...opts, timestamp });
  }

  setTag(key: string, value: string | number | boolean): void {
    this.open();
    checkKey('tag', key);
    this.buffer.addTag({ key, value: checkValue('tag', key, value, MAX_TAG_VALUE) });
  }

  setTags(tags: Record<string, string | number | boolean>): void {
    for (const [k, v] of Object.entries(tags)) this.setTag(k, v);
  }

  /** Sends everything buffered; throws the first server error since the last flush. */
  flush(): Promise<void> {
    return this.buffer.flush();
  }

  /**
   * Flushes, then closes the run (runs/update with status and end_time). The run is closed
   * even when the flush failed; that flush error is thrown afterwards.
   */
  async end(status: RunStatus = 'FINISHED'): Promise<void> {
    if (this.ended) return;
    let flushError: unknown;
    try {
      await this.buffer.flush();
    } catch (err) {
      flushError = err;
    }
    this.ended = true;
    this.buffer.close();
    exitHook.delete(this);
    const res = await this.host.transport.request<{ run_info?: RunInfo }>('POST', `${MLFLOW}/runs/update`, {
      json: { run_id: this.id, run_uuid: this.id, status, end_time: Date.now() },
      retry: 'idempotent',
    });
    if (res?.run_info) this.info = res.run_info;
    if (flushError !== undefined) throw flushError;
  }

  /**
   * Uploads a file, streamed, to `<artifactPath>/<file name>` under the run's artifacts (as
   * MLflow's log_artifact: `artifactPath` names a directory). The project path is
   * `runs/<run_id>/artifacts/<artifactPath>/<file name>`.
   */
  async logArtifact(localPath: string, artifactPath?: string): Promise<UploadedArtifact> {
    const name = path.basename(localPath);
    const rel = artifactPath ? `${artifactPath.replace(/^\/+|\/+$/g, '')}/${name}` : name;
    return this.upload(localPath, rel);
  }

  /** Uploads every file under a directory, keeping its layout, under `artifactPath`. */
  async logArtifacts(localDir: string, artifactPath?: string): Promise<UploadedArtifact[]> {
    const base = artifactPath ? artifactPath.replace(/^\/+|\/+$/g, '') : '';
    const out: UploadedArtifact[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true });
      entries.sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const e of entries) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(path.join(dir, e.name), r);
        else if (e.isFile()) out.push(await this.upload(path.join(dir, e.name), r));
      }
    };
    await walk(localDir, base);
    return out;
  }

  listArtifacts(artifactPath?: string): Promise<ArtifactFile[]> {
    return this.host.listArtifacts(this.id, artifactPath);
  }

  private async upload(localPath: string, rel: string): Promise<UploadedArtifact> {
    await stat(localPath); // a missing file fails here, not mid-request
    const project = await this.host.projectName();
    const target = runArtifactPrefix(this.id) + rel;
    const url = `/api/v1/projects/${encodeURIComponent(project)}/artifacts/files/${target
      .split('/')
      .map(encodeURIComponent)
      .join('/')}`;
    // A PUT replaces what the path held, so sending it again is harmless: the file is reopened
    // for each attempt (a stream cannot be replayed).
    return this.host.transport.request<UploadedArtifact>('PUT', url, {
      body: () => ({
        body: createReadStream(localPath),
        headers: { 'content-type': 'application/octet-stream' },
      }),
      retry: 'idempotent',
      timeoutMs: 0,
    });
  }

  private async sendBatch(b: Batch): Promise<void> {
    await this.host.transport.request('POST', `${MLFLOW}/runs/log-batch`, {
      json: { run_id: this.id, metrics: b.metrics, params: b.params, tags: b.tags },
      // Metrics sent twice would be stored twice: such a batch is retried only when it
      // certainly never reached the server. Params and tags alone are idempotent.
      retry: b.metrics.length > 0 ? 'unsent' : 'idempotent',
    });
  }

  /** Called by the exit hook: flush, and end the run if this process created it. */
  async settleAtExit(): Promise<void> {
    if (this.ended) return;
    if (this.attached) await this.buffer.flush();
    else await this.end('FINISHED');
  }
}
