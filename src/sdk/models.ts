// The model registry and its staging step, from the SDK: `falaj.models`. Falaj's v1 API
// (/api/v1/projects/:project/models/..., /model-promotions/...), with the JSON it answers
// typed here (camelCase on the staging routes, snake_case on the registry's, as the server
// writes them). Errors are the client's FalajApiError with the server's stable code.
import { readFile } from 'node:fs/promises';
import { type BinaryResponse, FalajApiError, type FalajClient } from '../client/index.js';

// ---- the registry -------------------------------------------------------------------------

/** One input or output of a version's ONNX graph, e.g. `x: double [N, 1]`. */
export interface SignatureField {
  name: string;
  type: string;
  /** Dimensions; a symbolic or unknown one is null (or its name). */
  shape: (number | string | null)[] | null;
}

export interface ModelSignature {
  inputs: SignatureField[];
  outputs: SignatureField[];
}

/** A model version as `GET .../models/:name/versions/:n` answers it. */
export interface ModelVersion {
  name: string;
  version: number;
  /** `models:/NAME/N` */
  uri: string;
  status: string;
  /** MLflow's (deprecated) stage: `None`, `Staging`, `Production`, `Archived`. */
  stage: string;
  /** `runs:/<run>/<path>`, `mlflow-artifacts:/<project>/<path>`, or an external URI. */
  source: string;
  run_id: string | null;
  artifact_path: string;
  /** `falaj` (native model folder), `onnx`, or `external`. */
  format: string;
  signature: ModelSignature | null;
  description: string;
  user_id: string;
  created_at: number;
  updated_at: number;
  tags: Record<string, string>;
  aliases: string[];
}

/** What registering answers: the new version, and whether the model was created by it. */
export interface RegisteredVersion extends ModelVersion {
  created_model: boolean;
}

export interface RegisteredModel {
  name: string;
  description: string;
  user_id: string;
  created_at: number;
  updated_at: number;
  /** Aliases that move only through a promotion request (default `['production']`). */
  protected_aliases: string[];
  tags: Record<string, string>;
  /** alias → version number */
  aliases: Record<string, number>;
  latest_version: number | null;
}

export interface RegisteredModelDetail extends RegisteredModel {
  /** Newest first. */
  versions: ModelVersion[];
}

export interface AliasChange {
  name: string;
  alias: string;
  version: number;
  /** The version the alias named before, if any. */
  previous: number | null;
}

/**
 * Where a version comes from: a run's model folder (`path`, default `model`: what `falaj
 * train` and server training write), or an ONNX graph of any framework (its bytes, or a local
 * file's path).
 */
export type RegisterModelOptions =
  | {
      runId: string;
      /** Folder (or file) under the run's artifacts; default `model`. */
      path?: string;
      description?: string;
      tags?: Record<string, string>;
    }
  | { onnx: Uint8Array | ArrayBuffer; description?: string; fileName?: string }
  | { onnxFile: string; description?: string };

/**
 * A model version: `NAME@N`, `NAME@ALIAS`, `NAME@latest`, `models:/NAME/N`,
 * `models:/NAME@ALIAS`, `models:/NAME/latest`, `models:/NAME/STAGE`, or a version object (as
 * `register` and `version` return).
 */
export type ModelVersionRef = string | { name: string; version: number };

// ---- evaluation ---------------------------------------------------------------------------

export interface EvaluateOptions {
  /** A dataset version: `NAME@N` or `NAME@latest`. Exactly one of `dataset` and `file`. */
  dataset?: string;
  /** A .csv or .parquet file of the project's artifacts (its path there). */
  file?: string;
  /** Default: the `target` param of the version's training run. */
  target?: string;
  /** Columns to report fairness for, each on its own (binary models). */
  sensitive?: readonly string[];
  /** Columns to report the metrics per value of (numeric ones with many values: per quintile). */
  slices?: readonly string[];
  /** The favourable outcome; default the model's second class. */
  positiveClass?: string;
  /** p(positive) at or above this predicts positive; default 0.5. */
  threshold?: number;
  /** Fairness groups smaller than this are flagged `small`; default 30. */
  minGroupSize?: number;
  /** For a foreign ONNX graph with one `[N, k]` input: the columns that feed it, in order. */
  features?: readonly string[];
  task?: 'binary' | 'multiclass' | 'regression';
  /** For a foreign ONNX graph: its classes, in output order. */
  classes?: readonly string[];
}

export interface FairnessReport {
  rows: number;
  minGroupSize: number;
  groups: {
    name: string;
    count: number;
    selectionRate: number | null;
    truePositiveRate: number | null;
    falsePositiveRate: number | null;
    impactRatio: number | null;
    small: boolean;
    [key: string]: unknown;
  }[];
  smallGroups: string[];
  fairlearn: {
    demographicParityDifference: number;
    demographicParityRatio: number | null;
    equalizedOddsDifference: number | null;
    equalizedOddsRatio: number | null;
    equalOpportunityDifference: number | null;
    equalOpportunityRatio: number | null;
  };
  aif360: Record<string, unknown>;
  fourFifthsRule: { passed: boolean; highestSelectionRate: number; failingGroups: string[] };
  [key: string]: unknown;
}

/** Fairness for one sensitive column: the report, or why there is none (multiclass, regression). */
export type FairnessEntry =
  | { column: string; report: FairnessReport }
  | { column: string; report: null; reason: string };

export interface EvaluationResult {
  /** `NAME@N` of the dataset, the file's path, or `cv of run <id>`. */
  data: string;
  /** Every scalar metric of the trainer; `null` where undefined (an AUC on one class). */
  metrics: Record<string, number | null>;
  task?: 'binary' | 'multiclass' | 'regression';
  target?: string;
  classes?: string[];
  positiveClass?: string | null;
  threshold?: number | null;
  rows?: number;
  confusion?: number[][] | null;
  calibration?: unknown;
  slices?: Record<
    string,
    { value: string | number | null; rows: number; metrics: Record<string, number | null> }[]
  >;
  sensitive?: string[];
  fairness?: Record<string, FairnessEntry>;
  runtime?: string;
  cv?: { k: number; std: Record<string, number>; folds: Record<string, number>[] };
  holdout?: { fraction: number };
  [key: string]: unknown;
}

/** A stored evaluation (immutable). */
export interface ModelEvaluation {
  id: string;
  versionId: string;
  kind: 'dataset' | 'file' | 'cv';
  dataVersionId: string | null;
  /** SHA-256 of the data evaluated on. */
  dataDigest: string | null;
  rowCount: number | null;
  jobId: string | null;
  result: EvaluationResult;
  createdAt: string;
  createdBy: string;
}

// ---- gates and promotion ------------------------------------------------------------------

export interface GateCheck {
  name: string;
  kind: string;
  value: number | boolean | string | null;
  threshold: number | boolean | string | null;
  op: string | null;
  passed: boolean;
  /** A sentence saying why. */
  detail: string;
}

export interface GateRun {
  id: string;
  versionId: string;
  policyRevision: number | null;
  passed: boolean;
  checks: GateCheck[];
  createdAt: string;
  createdBy: string;
}

export interface GatePolicyRevision {
  revision: number;
  policy: Record<string, unknown>;
  /** The policy as given (YAML or JSON text). */
  source: string;
  createdAt: string;
  createdBy: string;
}

export type PromotionState = 'pending' | 'approved' | 'rejected' | 'cancelled';

export interface PromotionRequest {
  id: string;
  model: string;
  version: number;
  alias: string;
  state: PromotionState;
  requestedBy: string;
  requestedAt: string;
  note: string;
  /** The gate run the request (or its decision) was judged on. */
  gateRunId: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
  overrideBy: string | null;
  overrideReason: string | null;
}

/** A request (or an approval) with the gate run made for it. */
export interface PromotionDecision {
  request: PromotionRequest;
  gates: GateRun;
}

export interface RequestPromotionOptions {
  /** A protected alias of the model (default protected: `production`). */
  alias: string;
  note?: string;
}

export interface ListPromotionsOptions {
  /** One model's requests; default every model of the project. */
  model?: string;
  state?: PromotionState;
  limit?: number;
}

/** The model card as JSON (`falaj-model-card/1`); see docs/model-staging.md for its parts. */
export interface ModelCard {
  card: string;
  generatedAt: string;
  model: {
    project: string;
    name: string;
    version: number;
    format: string;
    source: string;
    runId: string | null;
    aliases: string[];
    inputs: SignatureField[] | null;
    outputs: SignatureField[] | null;
    [key: string]: unknown;
  };
  intendedUse?: string;
  limitations?: string;
  training: Record<string, unknown>;
  evaluations: Record<string, unknown>[];
  fairness: Record<string, unknown>[];
  gates: { policyRevision: number | null; policy: string | null; runs: GateRun[] };
  promotions: (PromotionRequest & { gates: GateRun | null })[];
  [key: string]: unknown;
}

/** What the registry surface needs from the Falaj client that owns it. */
export interface ModelsHost {
  transport: FalajClient;
  projectName(): Promise<string>;
}

const enc = encodeURIComponent;
const NUMBER = /^[1-9]\d{0,14}$/;

/** `NAME@N` or `models:/NAME/N`, read here; anything else (an alias, latest, a stage) is the server's to resolve. */
function numbered(ref: string): { name: string; version: number } | undefined {
  if (ref.startsWith('models:')) {
    const m = /^models:\/*([^/@]+)\/(\d+)\/*$/.exec(ref);
    return m?.[1] && m[2] && NUMBER.test(m[2]) ? { name: m[1], version: Number(m[2]) } : undefined;
  }
  const at = ref.lastIndexOf('@');
  if (at <= 0) return undefined;
  const name = ref.slice(0, at);
  const tail = ref.slice(at + 1);
  return NUMBER.test(tail) && !name.includes('/') ? { name, version: Number(tail) } : undefined;
}

function bad(message: string): FalajApiError {
  return new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', message);
}

/**
 * The project's model registry and its staging step (`falaj.models`): register versions from
 * runs or ONNX files, name them by alias, evaluate them (metrics, slices, fairness), run their
 * gates, and move a protected alias through a promotion request that a second person approves.
 *
 * ```ts
 * const falaj = new Falaj({ project: 'credit' });
 * const v = await falaj.models.register('scorer', { runId: run.id });     // the run's model/ folder
 * await falaj.models.evaluate(v, { dataset: 'holdout@3', sensitive: ['sex'], slices: ['region'] });
 * const { request, gates } = await falaj.models.requestPromotion(v, { alias: 'production', note: 'Q3' });
 * // another maintainer, with their own client:
 * await other.models.approve(request.id);          // the requester gets FALAJ_SELF_APPROVAL
 * (await falaj.models.version('scorer@production')).version === v.version;
 * ```
 *
 * Every method throws FalajApiError with the server's code: FALAJ_MODEL_NOT_FOUND,
 * FALAJ_MODEL_VERSION_NOT_FOUND, FALAJ_ALIAS_NOT_FOUND, FALAJ_ALIAS_PROTECTED,
 * FALAJ_EVALUATION_DATA_MISMATCH, FALAJ_SELF_APPROVAL, FALAJ_GATES_FAILED,
 * FALAJ_PROMOTION_NOT_PENDING, FALAJ_FORBIDDEN, ... (docs/errors.md).
 */
export class Models {
  constructor(private readonly host: ModelsHost) {}

  private get t(): FalajClient {
    return this.host.transport;
  }

  private async projectUrl(): Promise<string> {
    return `/api/v1/projects/${enc(await this.host.projectName())}`;
  }

  private async modelUrl(name: string): Promise<string> {
    if (typeof name !== 'string' || name === '') throw bad('a model name is needed');
    return `${await this.projectUrl()}/models/${enc(name)}`;
  }

  /** The URL of the version a reference names (aliases resolved by the server). */
  private async versionUrl(ref: ModelVersionRef): Promise<string> {
    const { name, version } = await this.locate(ref);
    return `${await this.modelUrl(name)}/versions/${version}`;
  }

  private async locate(ref: ModelVersionRef): Promise<{ name: string; version: number }> {
    if (typeof ref === 'object' && ref !== null) {
      if (!Number.isSafeInteger(ref.version) || ref.version < 1)
        throw bad(`not a version number: ${ref.version}`);
      return { name: ref.name, version: ref.version };
    }
    if (typeof ref !== 'string' || ref === '') throw bad('a model version is needed (NAME@N or NAME@ALIAS)');
    const direct = numbered(ref);
    if (direct) return direct;
    const v = await this.version(ref);
    return { name: v.name, version: v.version };
  }

  // ---- registry -------------------------------------------------------------------------

  /**
   * Registers a new version of `name` (the model is created if it does not exist yet): from a
   * run's model folder (`{ runId, path? }`, lineage run → version is recorded), or from an
   * ONNX graph (`{ onnx: bytes }` or `{ onnxFile: path }`), whose inputs and outputs become
   * the version's signature. A file that is not ONNX is FALAJ_ONNX_INVALID, with nothing stored.
   */
  async register(name: string, opts: RegisterModelOptions): Promise<RegisteredVersion> {
    const url = `${await this.modelUrl(name)}/versions`;
    if ('runId' in opts) {
      if (!opts.runId) throw bad('runId is empty');
      return this.t.request<RegisteredVersion>('POST', url, {
        json: {
          run_id: opts.runId,
          ...(opts.path !== undefined ? { path: opts.path } : {}),
          ...(opts.description !== undefined ? { description: opts.description } : {}),
          ...(opts.tags ? { tags: opts.tags } : {}),
        },
      });
    }
    let bytes: Uint8Array;
    let fileName: string | undefined;
    if ('onnxFile' in opts) {
      bytes = await readFile(opts.onnxFile);
      fileName = opts.onnxFile.split(/[\\/]/).pop();
    } else if ('onnx' in opts) {
      bytes = opts.onnx instanceof Uint8Array ? opts.onnx : new Uint8Array(opts.onnx);
      fileName = opts.fileName;
    } else {
      throw bad('register needs runId, onnx or onnxFile');
    }
    return this.t.request<RegisteredVersion>('POST', url, {
      query: { description: opts.description, fileName },
      body: { body: bytes, headers: { 'content-type': 'application/octet-stream' } },
      // An upload may be long.
      timeoutMs: 0,
    });
  }

  /** The project's models, with their aliases and latest version. */
  async list(): Promise<RegisteredModel[]> {
    const res = await this.t.request<{ models: RegisteredModel[] }>(
      'GET',
      `${await this.projectUrl()}/models`,
      {
        retry: 'idempotent',
      },
    );
    return res.models;
  }

  /** A model with all its versions (newest first), tags, aliases and protected aliases. */
  async get(name: string): Promise<RegisteredModelDetail> {
    return this.t.request<RegisteredModelDetail>('GET', await this.modelUrl(name), { retry: 'idempotent' });
  }

  /**
   * The version a reference names: `name@production`, `name@3`, `name@latest`,
   * `models:/name/Staging`... (resolved by the server, so an alias is read as it is now).
   */
  async version(ref: string): Promise<ModelVersion> {
    if (typeof ref !== 'string' || ref === '') throw bad('a model version is needed (NAME@N or NAME@ALIAS)');
    const res = await this.t.request<{ version: ModelVersion }>(
      'GET',
      `${await this.projectUrl()}/models/resolve`,
      {
        query: { uri: ref },
        retry: 'idempotent',
      },
    );
    return res.version;
  }

  /** Points an alias at a version. A protected alias (`production`) is FALAJ_ALIAS_PROTECTED: use requestPromotion. */
  async setAlias(name: string, alias: string, version: number): Promise<AliasChange> {
    return this.t.request<AliasChange>('PUT', `${await this.modelUrl(name)}/aliases/${enc(alias)}`, {
      json: { version },
      retry: 'idempotent',
    });
  }

  /** Removes an alias (FALAJ_ALIAS_NOT_FOUND when unset; a protected one only by a project admin). */
  async removeAlias(name: string, alias: string): Promise<{ name: string; alias: string; removed: number }> {
    return this.t.request('DELETE', `${await this.modelUrl(name)}/aliases/${enc(alias)}`);
  }

  // ---- evaluation -----------------------------------------------------------------------

  /**
   * Evaluates the version on a dataset version (`dataset: 'holdout@3'`) or a CSV/Parquet file
   * of the project's artifacts (`file`), in the server: every trainer metric, `slices`, and
   * fairness per `sensitive` column. The evaluation is stored on the version (and is what the
   * gates read). Missing columns are FALAJ_EVALUATION_DATA_MISMATCH, with nothing stored.
   */
  async evaluate(ref: ModelVersionRef, opts: EvaluateOptions): Promise<ModelEvaluation> {
    if ((opts.dataset === undefined) === (opts.file === undefined))
      throw bad('give exactly one of dataset (NAME@N) and file (an artifact path)');
    return this.t.request<ModelEvaluation>('POST', `${await this.versionUrl(ref)}/evaluations`, {
      json: opts,
      // The evaluation runs within the request.
      timeoutMs: 0,
    });
  }

  /** Attaches the trainer's own cross-validation (or hold-out) of the version's run as an evaluation of kind `cv`, once. */
  async evaluateCv(ref: ModelVersionRef): Promise<ModelEvaluation> {
    return this.t.request<ModelEvaluation>('POST', `${await this.versionUrl(ref)}/evaluations/cv`, {
      json: {},
      retry: 'idempotent',
    });
  }

  /** The version's evaluations, newest first. */
  async evaluations(ref: ModelVersionRef): Promise<ModelEvaluation[]> {
    const res = await this.t.request<{ evaluations: ModelEvaluation[] }>(
      'GET',
      `${await this.versionUrl(ref)}/evaluations`,
      { retry: 'idempotent' },
    );
    return res.evaluations;
  }

  // ---- gates ----------------------------------------------------------------------------

  /** Sets the model's gate policy (YAML or JSON text, or an object): a new revision. Maintainers. */
  async setGatePolicy(name: string, policy: string | Record<string, unknown>): Promise<GatePolicyRevision> {
    return this.t.request<GatePolicyRevision>('PUT', `${await this.modelUrl(name)}/gates/policy`, {
      json: { policy },
    });
  }

  /** Runs the model's gates on the version (against the version holding `alias`, default the first protected). */
  async runGates(ref: ModelVersionRef, opts: { alias?: string } = {}): Promise<GateRun> {
    return this.t.request<GateRun>('POST', `${await this.versionUrl(ref)}/gates/runs`, {
      json: opts.alias ? { alias: opts.alias } : {},
    });
  }

  // ---- promotion (four eyes) ------------------------------------------------------------

  /**
   * Asks that a protected alias point at this version. The gates run now (and again at
   * approval); the request is stored `pending` even when they fail. Editors.
   */
  async requestPromotion(ref: ModelVersionRef, opts: RequestPromotionOptions): Promise<PromotionDecision> {
    return this.t.request<PromotionDecision>('POST', `${await this.versionUrl(ref)}/promotions`, {
      json: { alias: opts.alias, ...(opts.note !== undefined ? { note: opts.note } : {}) },
    });
  }

  /** One promotion request. */
  async promotion(requestId: string): Promise<PromotionRequest> {
    return this.t.request<PromotionRequest>(
      'GET',
      `${await this.projectUrl()}/model-promotions/${enc(requestId)}`,
      {
        retry: 'idempotent',
      },
    );
  }

  /** Promotion requests of the project (or of one model), newest first. */
  async promotions(opts: ListPromotionsOptions = {}): Promise<PromotionRequest[]> {
    const url = opts.model
      ? `${await this.modelUrl(opts.model)}/promotions`
      : `${await this.projectUrl()}/model-promotions`;
    const res = await this.t.request<{ requests: PromotionRequest[] }>('GET', url, {
      query: { state: opts.state, limit: opts.limit },
      retry: 'idempotent',
    });
    return res.requests;
  }

  /**
   * Approves a request: a maintainer who is not the requester (FALAJ_SELF_APPROVAL). The gates
   * run again and must pass (FALAJ_GATES_FAILED), unless a project admin gives
   * `overrideReason`. On success the alias has moved.
   */
  async approve(requestId: string, opts: { overrideReason?: string } = {}): Promise<PromotionDecision> {
    return this.t.request<PromotionDecision>(
      'POST',
      `${await this.projectUrl()}/model-promotions/${enc(requestId)}/approve`,
      { json: opts.overrideReason !== undefined ? { overrideReason: opts.overrideReason } : {} },
    );
  }

  /** Rejects a pending request, with a reason. Maintainers. */
  async reject(requestId: string, reason: string): Promise<PromotionRequest> {
    return this.t.request<PromotionRequest>(
      'POST',
      `${await this.projectUrl()}/model-promotions/${enc(requestId)}/reject`,
      { json: { reason } },
    );
  }

  /** Withdraws a pending request (its requester, or a maintainer). */
  async cancel(requestId: string): Promise<PromotionRequest> {
    return this.t.request<PromotionRequest>(
      'POST',
      `${await this.projectUrl()}/model-promotions/${enc(requestId)}/cancel`,
      { json: {} },
    );
  }

  // ---- model card -----------------------------------------------------------------------

  /** The version's model card: Markdown text (`'md'`) or JSON (default). */
  card(ref: ModelVersionRef, format: 'md'): Promise<string>;
  card(ref: ModelVersionRef, format?: 'json'): Promise<ModelCard>;
  async card(ref: ModelVersionRef, format: 'md' | 'json' = 'json'): Promise<string | ModelCard> {
    const url = `${await this.versionUrl(ref)}/card`;
    if (format === 'md') {
      const res = await this.t.request<BinaryResponse>('GET', url, {
        query: { format: 'md' },
        retry: 'idempotent',
        as: 'bytes',
      });
      return new TextDecoder().decode(res.bytes);
    }
    if (format !== 'json') throw bad(`card format must be 'md' or 'json', not '${String(format)}'`);
    return this.t.request<ModelCard>('GET', url, { query: { format: 'json' }, retry: 'idempotent' });
  }

  /** Sets the card's hand-written parts; `null` or `''` clears one, a field left out is kept. */
  async setCardText(
    ref: ModelVersionRef,
    text: { intendedUse?: string | null; limitations?: string | null },
  ): Promise<{ intendedUse?: string; limitations?: string }> {
    return this.t.request('PUT', `${await this.versionUrl(ref)}/card`, { json: text, retry: 'idempotent' });
  }
}
