import { type BinaryResponse, FalajApiError, FalajClient, resolveConnection } from '../client/index.js';
import { Deployments } from './deployments.js';
import { Models } from './models.js';
import { Run, type RunHost } from './run.js';
import type {
  ArtifactFile,
  Experiment,
  KeyValue,
  Metric,
  RunInfo,
  RunRecord,
  SearchRunsOptions,
  SearchRunsPage,
} from './types.js';
import { decodeMetricValue } from './wire.js';

const MLFLOW = '/api/2.0/mlflow';

export interface FalajOptions {
  /** Server URL; default FALAJ_URL, then the `falaj login` file, then http://127.0.0.1:7460. */
  url?: string;
  /** A project API token or a session token; default FALAJ_TOKEN, then the `falaj login` file. */
  token?: string;
  /**
   * The project (sent as X-Falaj-Project); default FALAJ_PROJECT. Needed with a session token;
   * a project API token works on its own project without it.
   */
  project?: string;
  /** How often buffered logs are sent in the background (ms); default 1000. */
  flushIntervalMs?: number;
  /** Per-request timeout (ms) for everything but uploads; default 60000. */
  timeoutMs?: number;
  /** How many times a retryable failure is retried (see RetryPolicy); default 3. */
  retries?: number;
  /** Called with each error of a background flush (it is also thrown by the next flush()/end()). Default: a line on stderr. */
  onError?: (err: unknown) => void;
  /** The fetch to use (a wrapper for proxies or instrumentation); default the global fetch. */
  fetch?: typeof fetch;
  /** Environment to read defaults from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface StartRunOptions {
  /** Experiment name: created when missing. Default `Default`. */
  experiment?: string;
  experimentId?: string;
  /** Run name. */
  name?: string;
  tags?: Record<string, string>;
  /** Makes a nested run (MLflow's `mlflow.parentRunId` tag); never attaches to FALAJ_RUN_ID. */
  parentRunId?: string;
  /**
   * Attach to this existing run instead of creating one. Default FALAJ_RUN_ID, so that a script
   * Falaj started logs to its own run; pass `null` to always create a new run.
   */
  runId?: string | null;
}

interface WireMetricOut {
  key: string;
  value: unknown;
  timestamp?: number | string;
  step?: number | string;
}

function decodeMetric(m: WireMetricOut): Metric {
  return {
    key: m.key,
    value: decodeMetricValue(m.value),
    timestamp: Number(m.timestamp ?? 0),
    step: Number(m.step ?? 0),
  };
}

function decodeRun(r: RunRecord): RunRecord {
  const data = (r.data ?? {}) as Partial<RunRecord['data']>;
  return {
    ...r,
    data: {
      metrics: ((data.metrics ?? []) as unknown as WireMetricOut[]).map(decodeMetric),
      params: data.params ?? [],
      tags: data.tags ?? [],
    },
  };
}

const toKeyValues = (o: Record<string, string> | undefined): KeyValue[] =>
  Object.entries(o ?? {}).map(([key, value]) => ({ key, value: String(value) }));

/**
 * A client of one Falaj server, speaking its MLflow-compatible API (and Falaj's artifact API
 * for uploads).
 *
 * ```ts
 * const falaj = new Falaj(); // FALAJ_URL, FALAJ_TOKEN, FALAJ_PROJECT
 * const run = await falaj.startRun({ experiment: 'fraud', name: 'xgb-1' });
 * run.logParams({ depth: 6, eta: 0.1 });
 * for (let step = 0; step < 100; step++) run.logMetric('loss', loss(step), { step });
 * await run.logArtifact('model.onnx', 'model');
 * await run.end();
 *
 * // the model registry and its staging step (see Models)
 * const v = await falaj.models.register('fraud', { runId: run.id });
 * await falaj.models.evaluate(v, { dataset: 'holdout@2', sensitive: ['sex'] });
 * const { request } = await falaj.models.requestPromotion(v, { alias: 'production' });
 * ```
 */
export class Falaj {
  readonly url: string;
  readonly project: string | undefined;
  /**
   * The project's model registry: register versions from runs or ONNX files, aliases,
   * evaluation with fairness, gates, promotion requests and their approval, model cards.
   */
  readonly models: Models;
  /**
   * The project's deployments: create, canary, shadow, promote, roll back, delete, public,
   * labels and the request log; `invokeV2` / `invokeMlflow` call the serving endpoints.
   */
  readonly deployments: Deployments;
  private readonly transport: FalajClient;
  private readonly flushIntervalMs: number;
  private readonly onError: (err: unknown) => void;
  private readonly env: NodeJS.ProcessEnv;
  private projectLookup: Promise<string> | undefined;

  constructor(opts: FalajOptions = {}) {
    const env = opts.env ?? process.env;
    this.env = env;
    // The login file is read only when no URL was given (empty variables count as unset), so
    // its token goes only to its own server.
    const connection = resolveConnection(opts, env, 'without-url');
    this.url = connection.url;
    this.project = connection.project;
    this.transport = new FalajClient({
      ...connection,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      timeoutMs: opts.timeoutMs ?? 60_000,
      retries: opts.retries ?? 3,
    });
    this.flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.onError =
      opts.onError ??
      ((err) => process.stderr.write(`falaj: logging to the server failed: ${String(err)}\n`));
    this.models = new Models({ transport: this.transport, projectName: () => this.projectName() });
    this.deployments = new Deployments({ transport: this.transport, projectName: () => this.projectName() });
  }

  private host(): RunHost {
    return {
      transport: this.transport,
      flushIntervalMs: this.flushIntervalMs,
      onError: this.onError,
      projectName: () => this.projectName(),
      listArtifacts: (runId, p) => this.listArtifacts(runId, p),
    };
  }

  /**
   * Starts a run, or attaches to FALAJ_RUN_ID (or `runId`) when set and no `parentRunId` is
   * given. The experiment is found by name and created if missing.
   */
  async startRun(opts: StartRunOptions = {}): Promise<Run> {
    const attachTo =
      opts.runId === null || opts.parentRunId ? undefined : opts.runId || this.env.FALAJ_RUN_ID;
    if (attachTo) {
      const run = this.attach(await this.getRun(attachTo));
      if (opts.name) run.setTag('mlflow.runName', opts.name);
      if (opts.tags) run.setTags(opts.tags);
      return run;
    }
    const experimentId =
      opts.experimentId ?? (await this.getOrCreateExperiment(opts.experiment ?? 'Default'));
    const tags = toKeyValues(opts.tags);
    if (opts.parentRunId) tags.push({ key: 'mlflow.parentRunId', value: opts.parentRunId });
    const res = await this.transport.request<{ run: RunRecord }>('POST', `${MLFLOW}/runs/create`, {
      json: {
        experiment_id: experimentId,
        start_time: Date.now(),
        tags,
        ...(opts.name ? { run_name: opts.name } : {}),
      },
      retry: 'unsent',
    });
    return new Run(this.host(), res.run.info, false);
  }

  /** A Run handle for an existing run (no request made): logs go to it; exit flushes but does not end it. */
  resumeRun(info: RunInfo | RunRecord): Run {
    return this.attach('info' in info ? info : { info, data: { metrics: [], params: [], tags: [] } });
  }

  private attach(record: RunRecord): Run {
    return new Run(this.host(), record.info, true);
  }

  async getRun(runId: string): Promise<RunRecord> {
    const res = await this.transport.request<{ run: RunRecord }>('GET', `${MLFLOW}/runs/get`, {
      query: { run_id: runId },
      retry: 'idempotent',
    });
    return decodeRun(res.run);
  }

  /** One page of runs/search (follow `nextPageToken` for more). */
  async searchRuns(opts: SearchRunsOptions): Promise<SearchRunsPage> {
    const res = await this.transport.request<{ runs?: RunRecord[]; next_page_token?: string }>(
      'POST',
      `${MLFLOW}/runs/search`,
      {
        json: {
          experiment_ids: opts.experimentIds,
          ...(opts.filter ? { filter: opts.filter } : {}),
          ...(opts.orderBy ? { order_by: opts.orderBy } : {}),
          ...(opts.maxResults !== undefined ? { max_results: opts.maxResults } : {}),
          ...(opts.pageToken ? { page_token: opts.pageToken } : {}),
          ...(opts.runViewType ? { run_view_type: opts.runViewType } : {}),
        },
        // A search changes nothing.
        retry: 'idempotent',
      },
    );
    const page: SearchRunsPage = { runs: (res?.runs ?? []).map(decodeRun) };
    if (res?.next_page_token) page.nextPageToken = res.next_page_token;
    return page;
  }

  /** Every point of one metric of a run, following page tokens. */
  /**
   * One metric's whole history, ordered by step. Read from Falaj's columnar endpoint as packed
   * float64 pages (millions of points per second; NaN and ±Infinity as logged), not MLflow's
   * one-object-per-point JSON.
   */
  async metricHistory(runId: string, key: string): Promise<Metric[]> {
    const project = await this.projectName();
    const path = `/api/v1/projects/${encodeURIComponent(project)}/runs/${encodeURIComponent(runId)}/metric-history`;
    const out: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.transport.request<BinaryResponse>('GET', path, {
        query: { key, format: 'f64', pageToken },
        retry: 'idempotent',
        as: 'bytes',
      });
      const n = Number(res.headers.get('x-falaj-points') ?? 0);
      // A copy: the view must start on an 8-byte boundary.
      const cols = new Float64Array(res.bytes.slice(0, 24 * n).buffer, 0, 3 * n);
      for (let i = 0; i < n; i++)
        out.push({
          key,
          step: cols[i] as number,
          timestamp: cols[n + i] as number,
          value: cols[2 * n + i] as number,
        });
      pageToken = res.headers.get('x-falaj-next-page-token') ?? undefined;
    } while (pageToken);
    return out;
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const res = await this.transport.request<{ experiment: Experiment }>('GET', `${MLFLOW}/experiments/get`, {
      query: { experiment_id: experimentId },
      retry: 'idempotent',
    });
    return res.experiment;
  }

  async getExperimentByName(name: string): Promise<Experiment> {
    const res = await this.transport.request<{ experiment: Experiment }>(
      'GET',
      `${MLFLOW}/experiments/get-by-name`,
      { query: { experiment_name: name }, retry: 'idempotent' },
    );
    return res.experiment;
  }

  /** Creates an experiment; returns its id. */
  async createExperiment(name: string, tags?: Record<string, string>): Promise<string> {
    const res = await this.transport.request<{ experiment_id: string }>(
      'POST',
      `${MLFLOW}/experiments/create`,
      {
        json: { name, tags: toKeyValues(tags) },
        retry: 'unsent',
      },
    );
    return String(res.experiment_id);
  }

  /** The id of the experiment with this name, created if missing (safe against a concurrent creator). */
  async getOrCreateExperiment(name: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.getExperimentByName(name)).experiment_id;
      } catch (err) {
        if (!(err instanceof FalajApiError) || err.errorCode !== 'RESOURCE_DOES_NOT_EXIST') throw err;
      }
      try {
        return await this.createExperiment(name);
      } catch (err) {
        // Someone else created it between the two calls: read it again.
        if (attempt > 0 || !(err instanceof FalajApiError) || err.errorCode !== 'RESOURCE_ALREADY_EXISTS')
          throw err;
      }
    }
  }

  /** The files of a run's artifacts under `path` (MLflow artifacts/list), following page tokens. */
  async listArtifacts(runId: string, path?: string): Promise<ArtifactFile[]> {
    const out: ArtifactFile[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.transport.request<{ files?: ArtifactFile[]; next_page_token?: string }>(
        'GET',
        `${MLFLOW}/artifacts/list`,
        { query: { run_id: runId, path: path || undefined, page_token: pageToken }, retry: 'idempotent' },
      );
      out.push(...(res?.files ?? []));
      pageToken = res?.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  /**
   * The project this client works in: the `project` option, else the one project a project
   * API token can see.
   */
  projectName(): Promise<string> {
    if (this.project) return Promise.resolve(this.project);
    this.projectLookup ??= (async () => {
      const res = await this.transport.request<{ projects: { name: string }[] }>('GET', '/api/v1/projects', {
        retry: 'idempotent',
      });
      const names = (res?.projects ?? []).map((p) => p.name);
      if (names.length !== 1 || !names[0]) {
        throw new FalajApiError(
          0,
          'INVALID_PARAMETER_VALUE',
          `cannot tell which project to use (${names.length} visible): set the project option or FALAJ_PROJECT`,
        );
      }
      return names[0];
    })().catch((err: unknown) => {
      this.projectLookup = undefined;
      throw err;
    });
    return this.projectLookup;
  }
}
