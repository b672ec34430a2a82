// The inference endpoints of every deployment, under /serving/<project>/<deployment>: the Open
// Inference Protocol (KServe V2) REST API and MLflow's scoring server. Every route needs the
// `invoke` permission (a member of the project or an invoke token), or none for a deployment a
// project admin made public. Errors, access refusals included, are sent in the protocol's own
// shape, so that V2 and MLflow clients read them.
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FalajError } from '../core/errors.js';
import { VERSION as FALAJ_VERSION } from '../core/version.js';
import { toFalajError } from '../http/error-handler.js';
import type { FalajApp } from '../http/services.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import { DEPLOYMENT_NAME_PATTERN } from './deployments/deployment-service.js';
import type { LiveDeployment } from './host/deployment-host.js';
import { type InferenceDeps, infer, mlflowCodec, routingKeyOf, v2Codec } from './inference.js';
import {
  InferenceProtocolError,
  isInferenceProtocolError,
  MLFLOW_PING_BODY,
  type Protocol,
  v2Live,
  v2ModelMetadata,
  v2ModelReady,
  v2Ready,
  v2ServerMetadata,
} from './protocols/index.js';

export const SERVING_PREFIX = '/serving/:project/:deployment';
/** The largest inference body (10,000 rows × 100 columns of JSON fit well within it). */
export const SERVING_BODY_LIMIT = 64 * 1024 * 1024;

const Params = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  deployment: Type.String({ pattern: DEPLOYMENT_NAME_PATTERN }),
});
const ModelParams = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  deployment: Type.String({ pattern: DEPLOYMENT_NAME_PATTERN }),
  model: Type.String({ maxLength: 200 }),
});
const VersionParams = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  deployment: Type.String({ pattern: DEPLOYMENT_NAME_PATTERN }),
  model: Type.String({ maxLength: 200 }),
  version: Type.String({ maxLength: 20 }),
});

const MLFLOW_CODES: Record<number, string> = {
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'RESOURCE_DOES_NOT_EXIST',
  413: 'BAD_REQUEST',
};

function protocolOf(req: FastifyRequest): Protocol {
  return (req.routeOptions.url ?? req.url).includes('/v2') ? 'v2' : 'mlflow';
}

/** Any error as the protocol's error body (Falaj's codes become messages; no stack is ever sent). */
function sendProtocolError(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  if (isInferenceProtocolError(err)) {
    void reply.status(err.status).type(err.contentType).send(err.body);
    return;
  }
  const fe = toFalajError(err as FastifyError);
  if (fe.code === 'FALAJ_INTERNAL') req.log.error({ err }, 'serving: unhandled error');
  const protocol = protocolOf(req);
  const message = `${fe.code}: ${fe.message}`;
  if (protocol === 'v2') void reply.status(fe.status).send({ error: message });
  else void reply.status(fe.status).send({ error_code: MLFLOW_CODES[fe.status] ?? 'BAD_REQUEST', message });
}

/** Answers a request for a deployment on another process (the `falaj serve` replicas); false when this process must answer. */
export type ReplicaProxy = (d: LiveDeployment, req: FastifyRequest, reply: FastifyReply) => Promise<boolean>;

export interface ServingRoutesOptions {
  deps: InferenceDeps;
  proxy?: ReplicaProxy;
}

export async function servingRoutes(app: FalajApp, opts: ServingRoutesOptions): Promise<void> {
  const { deps } = opts;
  const { host } = deps;

  function live(req: FastifyRequest): LiveDeployment {
    const p = paramsOf(req);
    const d = host.get(p.project, p.deployment);
    if (!d)
      throw new InferenceProtocolError(
        protocolOf(req),
        404,
        `no deployment '${p.deployment}' is being served in project '${p.project}'`,
      );
    return d;
  }

  function checkModelName(d: LiveDeployment, model: string): void {
    if (model !== d.name)
      throw new InferenceProtocolError(
        'v2',
        404,
        `unknown model '${model.slice(0, 200)}': this endpoint serves '${d.name}'`,
      );
  }

  function versionOf(text: string): number {
    if (!/^[1-9]\d{0,14}$/.test(text))
      throw new InferenceProtocolError('v2', 404, `unknown version '${text}'`);
    return Number(text);
  }

  // A public deployment admits callers without a token; everything else needs `invoke`.
  const anonymous = (req: FastifyRequest) => {
    const p = req.params as { project?: string; deployment?: string };
    return (
      p.project !== undefined &&
      p.deployment !== undefined &&
      host.get(p.project, p.deployment)?.public === true
    );
  };
  const config = { permission: 'invoke' as const, anonymous };
  const tags = ['serving'];

  await app.register(async (untyped) => {
    const scope = untyped.withTypeProvider<TypeBoxTypeProvider>();
    scope.setErrorHandler((err, req, reply) => sendProtocolError(err, req, reply));
    // Predictions are recorded in the request log, not the audit chain: an audit event per
    // prediction would serialise inference on the chain's lock. Refusals (401/403, before this
    // hook) are still audited by the fallback, as everywhere.
    scope.addHook('preHandler', (req, _reply, done) => {
      req.audited = true;
      done();
    });
    // Plain JSON.parse: the codecs read named fields of the body and never copy it into other
    // objects, so the prototype-poisoning scan of Fastify's parser (a tenth of a one-row
    // request's time) buys nothing here.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: SERVING_BODY_LIMIT },
      (_req, body, done) => {
        try {
          done(null, JSON.parse(body as string));
        } catch (err) {
          done(
            new FalajError('FALAJ_MALFORMED_JSON', `the body is not valid JSON: ${(err as Error).message}`),
            undefined,
          );
        }
      },
    );
    scope.addContentTypeParser(
      'text/csv',
      { parseAs: 'string', bodyLimit: SERVING_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );

    // Replicas: a deployment placed on `falaj serve` processes is answered by one of them.
    const proxied = async (req: FastifyRequest, reply: FastifyReply, d: LiveDeployment) =>
      d.spec.placement === 'replicas' && opts.proxy ? opts.proxy(d, req, reply) : false;

    scope.get(
      `${SERVING_PREFIX}/v2`,
      { config, schema: { tags, summary: 'V2 server metadata', params: Params } },
      async (req) => {
        live(req);
        return v2ServerMetadata({ name: 'falaj', version: FALAJ_VERSION });
      },
    );
    scope.get(
      `${SERVING_PREFIX}/v2/health/live`,
      { config, schema: { tags, summary: 'V2 liveness: 200 {"live": true}', params: Params } },
      async (_req, reply) => {
        const r = v2Live(true);
        return reply.status(r.status).send(r.body);
      },
    );
    scope.get(
      `${SERVING_PREFIX}/v2/health/ready`,
      {
        config,
        schema: {
          tags,
          summary: 'V2 readiness: 200 {"ready": true} once the deployment is loaded, else 503',
          params: Params,
        },
      },
      async (req, reply) => {
        const p = paramsOf(req);
        const r = v2Ready(host.get(p.project, p.deployment) !== undefined);
        return reply.status(r.status).send(r.body);
      },
    );

    const metadata = (d: LiveDeployment, version: number | undefined) => {
      const v = version === undefined ? d.primary : [d.primary, d.canary].find((x) => x?.version === version);
      if (!v)
        throw new InferenceProtocolError(
          'v2',
          404,
          `deployment '${d.name}' does not serve version ${version}`,
        );
      return v2ModelMetadata({
        name: d.name,
        versions: [d.primary, d.canary].filter((x) => x !== undefined).map((x) => String(x.version)),
        platform: v.serving.platform,
        signature: v.serving.signature,
      });
    };
    scope.get(
      `${SERVING_PREFIX}/v2/models/:model`,
      { config, schema: { tags, summary: 'V2 model metadata (inputs and outputs)', params: ModelParams } },
      async (req) => {
        const d = live(req);
        checkModelName(d, req.params.model);
        return metadata(d, undefined);
      },
    );
    scope.get(
      `${SERVING_PREFIX}/v2/models/:model/versions/:version`,
      {
        config,
        schema: { tags, summary: 'V2 metadata of one version the deployment serves', params: VersionParams },
      },
      async (req) => {
        const d = live(req);
        checkModelName(d, req.params.model);
        return metadata(d, versionOf(req.params.version));
      },
    );
    const ready = async (req: FastifyRequest, reply: FastifyReply) => {
      const d = live(req);
      const p = paramsOf(req);
      checkModelName(d, p.model ?? '');
      if (p.version !== undefined) metadata(d, versionOf(p.version));
      const r = v2ModelReady(d.name, true);
      return reply.status(r.status).send(r.body);
    };
    scope.get(
      `${SERVING_PREFIX}/v2/models/:model/ready`,
      { config, schema: { tags, summary: 'V2 model readiness', params: ModelParams } },
      ready,
    );
    scope.get(
      `${SERVING_PREFIX}/v2/models/:model/versions/:version/ready`,
      { config, schema: { tags, summary: 'V2 readiness of one version', params: VersionParams } },
      ready,
    );

    const v2Infer = async (req: FastifyRequest, reply: FastifyReply) => {
      const d = live(req);
      const p = paramsOf(req);
      checkModelName(d, p.model ?? '');
      if (await proxied(req, reply, d)) return reply;
      // The server's request id: the caller's X-Request-Id when it is a valid one, else new.
      const requestId = String(req.id);
      const answer = await infer(
        deps,
        d,
        {
          requestId,
          routingKey: routingKeyOf(req.headers),
          version: p.version === undefined ? undefined : versionOf(p.version),
        },
        v2Codec(req.body, d, requestId),
      );
      return reply
        .status(answer.status)
        .header('x-request-id', requestId)
        .type(answer.contentType)
        .send(answer.body);
    };
    scope.post(
      `${SERVING_PREFIX}/v2/models/:model/infer`,
      {
        config,
        bodyLimit: SERVING_BODY_LIMIT,
        schema: { tags, summary: 'V2 inference', params: ModelParams },
      },
      v2Infer,
    );
    scope.post(
      `${SERVING_PREFIX}/v2/models/:model/versions/:version/infer`,
      {
        config,
        bodyLimit: SERVING_BODY_LIMIT,
        schema: { tags, summary: 'V2 inference on one version', params: VersionParams },
      },
      v2Infer,
    );

    scope.post(
      `${SERVING_PREFIX}/invocations`,
      {
        config,
        bodyLimit: SERVING_BODY_LIMIT,
        schema: {
          tags,
          summary:
            'MLflow scoring: dataframe_split, dataframe_records, instances or inputs (JSON), or text/csv; answers {"predictions": [...]}',
          params: Params,
        },
      },
      async (req, reply) => {
        const d = live(req);
        if (await proxied(req, reply, d)) return reply;
        // The server's request id: the caller's X-Request-Id when it is a valid one, else new.
        const requestId = String(req.id);
        const answer = await infer(
          deps,
          d,
          { requestId, routingKey: routingKeyOf(req.headers), version: undefined },
          mlflowCodec(req.headers['content-type'], req.body),
        );
        return reply
          .status(answer.status)
          .header('x-request-id', requestId)
          .type(answer.contentType)
          .send(answer.body);
      },
    );
    for (const url of ['ping', 'health'])
      scope.get(
        `${SERVING_PREFIX}/${url}`,
        {
          config,
          schema: {
            tags,
            summary: `MLflow scoring ${url}: 200 once the deployment is loaded`,
            params: Params,
          },
        },
        async (req, reply) => {
          live(req);
          return reply.type('text/plain').send(MLFLOW_PING_BODY);
        },
      );
    scope.get(
      `${SERVING_PREFIX}/version`,
      { config, schema: { tags, summary: 'MLflow scoring version: the server version', params: Params } },
      async (req, reply) => {
        live(req);
        return reply.type('text/plain').send(FALAJ_VERSION);
      },
    );
  });
}

function paramsOf(req: FastifyRequest): {
  project: string;
  deployment: string;
  model?: string;
  version?: string;
} {
  return req.params as { project: string; deployment: string; model?: string; version?: string };
}
