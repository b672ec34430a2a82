// One inference request, whatever the protocol: choose the variant (an explicit version, the
// canary split, else the model), parse the body against that model's inputs, predict, encode;
// then, off the answer's path, record it (metrics, the canary's window, the request log) and
// feed the shadow. A failure becomes the protocol's own error and is logged as one.
import { performance } from 'node:perf_hooks';
import { FalajError } from '../core/errors.js';
import type { DeploymentHost, LiveDeployment, LiveVariant } from './host/deployment-host.js';
import {
  type ColumnBatch,
  encodeMlflowPredictions,
  encodeV2InferResponse,
  InferenceProtocolError,
  isInferenceProtocolError,
  type ModelSignature,
  mlflowPredictMethod,
  type ParsedMlflowRequest,
  type ParsedV2Request,
  type Prediction,
  type Protocol,
  parseMlflowInvocation,
  parseV2InferRequest,
} from './protocols/index.js';
import type { RequestLogWriter } from './request-log/index.js';
import type { ServingMetrics } from './serving-metrics.js';
import { routesToCanary } from './traffic/split.js';

export interface InferenceDeps {
  host: DeploymentHost;
  log: RequestLogWriter | undefined;
  metrics: ServingMetrics;
  now: () => number;
}

/** What a protocol does with a request: parse it for a model, encode a prediction. */
export interface ProtocolCodec<P> {
  protocol: Protocol;
  parse(signature: ModelSignature): P & { batch: ColumnBatch };
  encode(parsed: P, prediction: Prediction, variant: LiveVariant, requestId: string): unknown;
}

export interface InferenceRequest {
  /** The server's id of the request (the caller's X-Request-Id when valid), echoed in the answer's header. */
  requestId: string;
  routingKey: string | undefined;
  /** A version named in the URL (V2's /versions/<v>). */
  version: number | undefined;
}

export interface InferenceAnswer {
  status: number;
  body: unknown;
  contentType: string;
}

function notFound(protocol: Protocol, message: string): InferenceProtocolError {
  return new InferenceProtocolError(protocol, 404, message);
}

/** The variant that answers: the version named, else the canary's share, else the model. */
/** The X-Falaj-Routing-Key of a request's headers (sticky canary choice), at most 256 characters. */
export function routingKeyOf(headers: { [name: string]: string | string[] | undefined }): string | undefined {
  const k = headers['x-falaj-routing-key'];
  return typeof k === 'string' && k !== '' ? k.slice(0, 256) : undefined;
}

export function chooseVariant(d: LiveDeployment, r: InferenceRequest, protocol: Protocol): LiveVariant {
  if (r.version !== undefined) {
    for (const v of [d.primary, d.canary]) if (v && v.version === r.version) return v;
    throw notFound(
      protocol,
      `deployment '${d.name}' does not serve version ${r.version} (it serves ${[d.primary, d.canary]
        .filter((v): v is LiveVariant => v !== undefined)
        .map((v) => v.version)
        .join(', ')})`,
    );
  }
  if (d.canary && routesToCanary(d.spec.canary?.percent, r.routingKey)) return d.canary;
  return d.primary;
}

function failureOf(err: unknown, protocol: Protocol): InferenceProtocolError {
  if (isInferenceProtocolError(err)) return err;
  // The model failed on input that the codec accepted: the server's fault, not the caller's.
  const message = err instanceof FalajError ? err.message : 'the model failed to predict';
  return new InferenceProtocolError(protocol, 500, message);
}

export async function infer<P>(
  deps: InferenceDeps,
  d: LiveDeployment,
  r: InferenceRequest,
  codec: ProtocolCodec<P>,
): Promise<InferenceAnswer> {
  const variant = chooseVariant(d, r, codec.protocol);
  const t0 = performance.now();
  let parsed: (P & { batch: ColumnBatch }) | undefined;
  let prediction: Prediction | undefined;
  let answer: InferenceAnswer;
  let error: string | undefined;
  try {
    parsed = codec.parse(variant.serving.signature);
    prediction = await variant.serving.predict(parsed.batch);
    answer = {
      status: 200,
      body: codec.encode(parsed, prediction, variant, r.requestId),
      contentType: 'application/json',
    };
  } catch (err) {
    const e = failureOf(err, codec.protocol);
    error = e.message;
    answer = { status: e.status, body: e.body, contentType: e.contentType };
  }
  const latencyMs = performance.now() - t0;
  record(deps, d, variant, r, codec.protocol, answer.status, latencyMs, parsed?.batch, prediction, error);
  if (d.shadow && parsed) shadow(deps, d, d.shadow, r, codec);
  return answer;
}

function record(
  deps: InferenceDeps,
  d: LiveDeployment,
  v: LiveVariant,
  r: InferenceRequest,
  protocol: Protocol,
  status: number,
  latencyMs: number,
  batch: ColumnBatch | undefined,
  prediction: Prediction | undefined,
  error: string | undefined,
): void {
  const now = deps.now();
  // Only the server's failures count against a canary: a caller's bad input says nothing of it.
  if (v.variant !== 'shadow') v.window.record(now, latencyMs, status >= 500);
  deps.metrics.observe(
    {
      project: d.project,
      deployment: d.name,
      model: v.model,
      version: String(v.version),
      variant: v.variant,
    },
    status,
    latencyMs / 1000,
    prediction ? (batch?.rows ?? 0) : 0,
  );
  deps.log?.append({
    requestId: r.requestId,
    time: now,
    projectId: d.projectId,
    deploymentId: d.id,
    deployment: d.name,
    revision: d.revision,
    model: v.model,
    modelVersion: v.version,
    variant: v.variant,
    protocol,
    status,
    latencyMs,
    ...(error !== undefined ? { error } : {}),
    ...(batch && prediction ? { batch, prediction } : {}),
    privacy: { columns: d.piiColumns, policy: d.spec.log.pii },
  });
}

/** The shadow answers the same request after the caller has been answered; its answer is only logged. */
function shadow<P>(
  deps: InferenceDeps,
  d: LiveDeployment,
  v: LiveVariant,
  r: InferenceRequest,
  codec: ProtocolCodec<P>,
): void {
  setImmediate(() => {
    const t0 = performance.now();
    let batch: ColumnBatch | undefined;
    void (async () => {
      try {
        batch = codec.parse(v.serving.signature).batch;
        const prediction = await v.serving.predict(batch);
        record(deps, d, v, r, codec.protocol, 200, performance.now() - t0, batch, prediction, undefined);
      } catch (err) {
        const e = failureOf(err, codec.protocol);
        record(deps, d, v, r, codec.protocol, e.status, performance.now() - t0, batch, undefined, e.message);
      }
    })();
  });
}

/** The V2 codec of one request body: the answer names the deployment and the version that answered. */
export function v2Codec(body: unknown, d: LiveDeployment, requestId: string): ProtocolCodec<ParsedV2Request> {
  return {
    protocol: 'v2',
    parse: (signature) => parseV2InferRequest(body, signature),
    encode: (parsed, prediction, v) =>
      encodeV2InferResponse(prediction, {
        modelName: d.name,
        modelVersion: String(v.version),
        id: parsed.id ?? requestId,
        ...(parsed.outputs ? { outputs: parsed.outputs } : {}),
      }),
  };
}

/** MLflow scoring's codec of one request body (JSON parsed, or CSV text). */
export function mlflowCodec(
  contentType: string | undefined,
  body: unknown,
): ProtocolCodec<ParsedMlflowRequest> {
  return {
    protocol: 'mlflow',
    parse: (signature) => parseMlflowInvocation(contentType, body, signature),
    encode: (parsed, prediction) => encodeMlflowPredictions(prediction, mlflowPredictMethod(parsed.params)),
  };
}
