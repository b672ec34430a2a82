// Deployments from the SDK: `falaj.deployments`. A typed face of Falaj's v1 API
// (/api/v1/projects/:project/deployments/...) and of the serving endpoints a deployment answers
// at: KServe V2 (`/serving/<project>/<name>/v2/models/<name>/infer`) and MLflow scoring
// (`/serving/<project>/<name>/invocations`). Errors are the client's FalajApiError with the
// server's stable code (FALAJ_DEPLOYMENT_INVALID, FALAJ_DEPLOYMENT_NOT_FOUND, ...).
import { randomUUID } from 'node:crypto';
import { FalajApiError, type FalajClient } from '../client/index.js';

export interface DeploymentCanary {
  /** MODEL@VERSION or MODEL@ALIAS. */
  model: string;
  /** Share of requests (above 0, below 100) the canary answers. */
  percent: number;
}

export interface DeploymentAutoRollback {
  /** Remove the canary when its error rate over the window is above this (0..1). */
  maxErrorRate: number;
  /** ... or its p99 latency over the window is above this (ms). */
  maxP99Ms: number;
  windowSeconds: number;
  /** The canary is judged once the window holds this many of its requests. */
  minRequests: number;
}

export interface DeploymentLogPolicy {
  /** Share of requests logged (0..1); failures are always logged. */
  sample: number;
  /** What the request log does with input columns tagged PII in the training data. */
  pii: 'hash' | 'drop' | 'keep';
}

export type DeploymentPlacement = 'embedded' | 'replicas';

/** What a deployment serves and how (one revision's). */
export interface DeploymentSpec {
  model: string;
  canary: DeploymentCanary | null;
  shadow: { model: string } | null;
  autoRollback: DeploymentAutoRollback | null;
  log: DeploymentLogPolicy;
  placement: DeploymentPlacement;
}

export interface DeploymentReplica {
  id: string;
  url: string;
  ready: boolean;
  revision: number;
  reason: string;
  lastSeen: string;
}

/** A deployment as the API answers it. */
export interface Deployment {
  name: string;
  description: string;
  /** The path clients call, `/serving/<project>/<name>` (see `Deployments.endpoints`). */
  url: string;
  revision: number;
  public: boolean;
  /** `loading`, `ready`, `failed`, ... with the reason in `stateReason`. */
  state: string;
  stateReason: string;
  /** The versions serving now, per variant (`primary`, `canary`, `shadow`). */
  serving: Record<string, { model: string; version: number }> | null;
  spec: DeploymentSpec;
  replicas: DeploymentReplica[];
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

export interface DeploymentRevision {
  revision: number;
  reason: 'create' | 'update' | 'rollback' | 'auto-rollback' | 'promote-canary' | string;
  details: Record<string, unknown> | null;
  spec: DeploymentSpec;
  createdAt: string;
  createdBy: string;
}

/** A change: absent fields keep their value; null removes a canary, a shadow or auto-rollback. */
export interface DeploymentChange {
  /** A new model (blue/green): MODEL@VERSION or MODEL@ALIAS (followed when the alias moves). */
  model?: string;
  canary?: DeploymentCanary | null;
  shadow?: { model: string } | null;
  /** Thresholds merged over the current ones (or the defaults); null turns it off. */
  autoRollback?: Partial<DeploymentAutoRollback> | null;
  log?: Partial<DeploymentLogPolicy>;
  placement?: DeploymentPlacement;
}

export interface CreateDeploymentOptions extends DeploymentChange {
  model: string;
  description?: string;
}

export interface UpdateDeploymentOptions extends DeploymentChange {
  /** The canary's model becomes the model and the canary is removed (not with model or canary). */
  promoteCanary?: boolean;
}

/** Ground truth for a logged request: its id (the answer's X-Request-Id) and row (default 0). */
export interface DeploymentLabel {
  request_id: string;
  row?: number;
  label: string | number;
}

export interface RequestLogQuery {
  /** Rows, newest first (default 100, at most 10000). */
  limit?: number;
  /** Epoch ms or a Date. */
  from?: number | Date;
  to?: number | Date;
}

/** A row of the request log: the fixed columns, the inputs and outputs, and `label`. */
export type RequestLogRow = {
  request_id: string;
  row: number;
  time: string;
  revision: number;
  model: string;
  model_version: number;
  variant: string;
  protocol: string;
  status: number;
  latency_ms: number;
  error: string | null;
  label?: string | number | null;
} & Record<string, unknown>;

/** An answer of a serving endpoint: its JSON, and the request id the request log keeps. */
export interface InvokeResult<T = unknown> {
  body: T;
  /** The request's id (sent as X-Request-Id): what the request log keeps and labels refer to. */
  requestId: string;
  status: number;
}

export interface InvokeOptions {
  /**
   * The request's id, sent as X-Request-Id (1 to 64 letters, digits, `.`, `_`, `-`);
   * default a new UUID. Label the request by it later.
   */
  requestId?: string;
  /** Sent as X-Falaj-Routing-Key: the same key always gets the same variant (canary or not). */
  routingKey?: string;
}

export interface DeploymentsHost {
  readonly transport: FalajClient;
  /** The project in use (the client's, or the one project an API token sees). */
  projectName(): Promise<string>;
}

const enc = encodeURIComponent;

function bad(message: string): FalajApiError {
  return new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', message);
}

const ms = (t: number | Date | undefined) => (t instanceof Date ? t.getTime() : t);

/**
 * `falaj.deployments`: create, change (canary, shadow, blue/green, promotion), roll back and
 * delete deployments; labels and the request log; and calls to the serving endpoints.
 *
 * ```ts
 * await falaj.deployments.create('credit', { model: 'credit@3' });
 * await falaj.deployments.update('credit', { canary: { model: 'credit@4', percent: 10 } });
 * await falaj.deployments.update('credit', { promoteCanary: true });
 * const { body, requestId } = await falaj.deployments.invokeMlflow('credit', {
 *   dataframe_split: { columns: ['x1', 'x2'], data: [[0.3, -1.2]] },
 * });
 * await falaj.deployments.labels('credit', [{ request_id: requestId!, label: 'yes' }]);
 * ```
 */
export class Deployments {
  constructor(private readonly host: DeploymentsHost) {}

  private get t(): FalajClient {
    return this.host.transport;
  }

  private async listUrl(): Promise<string> {
    return `/api/v1/projects/${enc(await this.host.projectName())}/deployments`;
  }

  private async url(name: string): Promise<string> {
    if (typeof name !== 'string' || name === '') throw bad('a deployment name is needed');
    return `${await this.listUrl()}/${enc(name)}`;
  }

  /** Deploys a model; answers once the server tried to load it (`state` ready, or failed with the reason). */
  async create(name: string, opts: CreateDeploymentOptions): Promise<Deployment> {
    if (typeof name !== 'string' || name === '') throw bad('a deployment name is needed');
    return this.t.post<Deployment>(await this.listUrl(), { name, ...opts });
  }

  /** Changes a deployment: a new revision, loaded before the answer. */
  async update(name: string, change: UpdateDeploymentOptions): Promise<Deployment> {
    return this.t.patch<Deployment>(await this.url(name), change);
  }

  async list(): Promise<Deployment[]> {
    return (
      await this.t.request<{ deployments: Deployment[] }>('GET', await this.listUrl(), {
        retry: 'idempotent',
      })
    ).deployments;
  }

  async get(name: string): Promise<Deployment> {
    return this.t.request<Deployment>('GET', await this.url(name), { retry: 'idempotent' });
  }

  /** Every revision, newest first. */
  async revisions(name: string): Promise<DeploymentRevision[]> {
    return (
      await this.t.request<{ revisions: DeploymentRevision[] }>('GET', `${await this.url(name)}/revisions`, {
        retry: 'idempotent',
      })
    ).revisions;
  }

  /** Restores the previous revision (or `revision`) as a new revision. */
  async rollback(name: string, revision?: number): Promise<Deployment> {
    return this.t.post<Deployment>(
      `${await this.url(name)}/rollback`,
      revision !== undefined ? { revision } : {},
    );
  }

  /** Deletes the deployment (it stops serving). */
  async delete(name: string): Promise<void> {
    await this.t.delete(await this.url(name));
  }

  /** Callable without a token, or not (project admins). */
  async setPublic(name: string, isPublic: boolean): Promise<Deployment> {
    return this.t.put<Deployment>(`${await this.url(name)}/public`, { public: isPublic });
  }

  /**
   * Ground truth for logged requests: a list of labels, or a file's text (`format` csv: header
   * request_id,label[,row]; ndjson: one {request_id, label, row?} a line).
   */
  async labels(
    name: string,
    labels: readonly DeploymentLabel[] | string,
    format: 'csv' | 'ndjson' = 'csv',
  ): Promise<{ recorded: number }> {
    const url = `${await this.url(name)}/labels`;
    if (typeof labels === 'string')
      return this.t.request<{ recorded: number }>('POST', `${url}/file`, {
        body: {
          body: labels,
          headers: { 'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson' },
        },
      });
    return this.t.post<{ recorded: number }>(url, { labels });
  }

  /** The request log's newest rows, with labels where they arrived (written a few seconds after the answer). */
  async requests(name: string, query: RequestLogQuery = {}): Promise<RequestLogRow[]> {
    return (
      await this.t.request<{ requests: RequestLogRow[] }>('GET', `${await this.url(name)}/requests`, {
        query: { limit: query.limit, from: ms(query.from), to: ms(query.to) },
        retry: 'idempotent',
      })
    ).requests;
  }

  /** The full URLs clients call: the base, KServe V2 infer and MLflow scoring. */
  async endpoints(name: string): Promise<{ base: string; v2Infer: string; mlflow: string }> {
    if (typeof name !== 'string' || name === '') throw bad('a deployment name is needed');
    const base = `${this.t.url}/serving/${enc(await this.host.projectName())}/${enc(name)}`;
    return { base, v2Infer: `${base}/v2/models/${enc(name)}/infer`, mlflow: `${base}/invocations` };
  }

  /** A KServe V2 (Open Inference Protocol) infer request: `{inputs: [{name, shape, datatype, data}]}`. */
  async invokeV2<T = V2InferResponse>(
    name: string,
    body: unknown,
    opts: InvokeOptions = {},
  ): Promise<InvokeResult<T>> {
    return this.invoke<T>((await this.endpoints(name)).v2Infer, body, opts);
  }

  /** An MLflow scoring request: `{dataframe_split: {columns, data}}`, `{dataframe_records}`, `{inputs}`, ... */
  async invokeMlflow<T = unknown>(
    name: string,
    body: unknown,
    opts: InvokeOptions = {},
  ): Promise<InvokeResult<T>> {
    return this.invoke<T>((await this.endpoints(name)).mlflow, body, opts);
  }

  private async invoke<T>(url: string, body: unknown, opts: InvokeOptions): Promise<InvokeResult<T>> {
    const path = url.slice(this.t.url.length);
    // The id is chosen here and sent, so that it is the one the request log keeps.
    const requestId = opts.requestId ?? randomUUID();
    const res = await this.t.request<Response>('POST', path, {
      body: {
        body: JSON.stringify(body),
        headers: {
          'content-type': 'application/json',
          'x-request-id': requestId,
          ...(opts.routingKey !== undefined ? { 'x-falaj-routing-key': opts.routingKey } : {}),
        },
      },
      as: 'response',
    });
    const text = await res.text();
    return { body: (text ? JSON.parse(text) : null) as T, requestId, status: res.status };
  }
}

/** A V2 infer answer. */
export interface V2InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
}
