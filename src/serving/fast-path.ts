// Inference without the framework: a V2 infer or MLflow /invocations request with a JSON body,
// to an embedded deployment, from a caller the access policy admitted moments ago (or to a
// public deployment without a token), is answered straight from the raw request. Fastify's
// routing, hooks and reply cost several times the prediction of one row; everything else (an
// unknown or refused caller, another route, CSV, a named version, a replica-placed
// deployment) goes to Fastify untouched, which answers exactly as before. What the fast path
// answers is what the routes would: the same codecs, variant choice, request log, metrics and
// headers (X-Request-Id, and Strict-Transport-Security on TLS).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RawHandler } from '../http/raw-handlers.js';
import type { DeploymentHost } from './host/deployment-host.js';
import { type InferenceDeps, infer, mlflowCodec, routingKeyOf, v2Codec } from './inference.js';
import { InferenceProtocolError, type Protocol } from './protocols/index.js';
import { SERVING_BODY_LIMIT } from './serving-routes.js';

// The project and deployment patterns of the routes' schemas; a model name without '/'.
const URL_PATTERN =
  /^\/serving\/([a-z0-9][a-z0-9-]{0,62})\/([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\/(?:v2\/models\/([^/?#]{1,200})\/infer|invocations)$/;
const JSON_TYPE = /^application\/json\s*(?:;|$)/i;
const BEARER = /^Bearer\s+(\S+)\s*$/i;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface FastPathOptions {
  deps: InferenceDeps;
  /** The access policy's memory of admitted invokers (http/guard.ts `knownInvoker`). */
  knownInvoker(bearer: string, project: string, deployment: string): unknown;
  https: boolean;
}

/** The handler, with the number of requests it answered (the rest went to Fastify). */
export type FastPath = RawHandler & { answered: number };

export function servingFastPath(opts: FastPathOptions): FastPath {
  const host: DeploymentHost = opts.deps.host;
  const handler: FastPath = Object.assign(
    (req: IncomingMessage, res: ServerResponse) => {
      if (req.method !== 'POST') return false;
      const m = URL_PATTERN.exec(req.url ?? '');
      if (!m) return false;
      const [, project, deployment, model] = m as unknown as [string, string, string, string | undefined];
      if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) return false;
      const d = host.get(project, deployment);
      if (d?.spec.placement !== 'embedded') return false;
      if (model !== undefined && model !== d.name) return false;
      const auth = req.headers.authorization;
      if (auth !== undefined) {
        const bearer = BEARER.exec(auth)?.[1];
        if (!bearer || !opts.knownInvoker(bearer, project, deployment)) return false;
      } else if (!d.public) return false;
      handler.answered++;
      answer(opts, req, res, model === undefined ? 'mlflow' : 'v2', project, deployment);
      return true;
    },
    { answered: 0 },
  );
  return handler;
}

function answer(
  opts: FastPathOptions,
  req: IncomingMessage,
  res: ServerResponse,
  protocol: Protocol,
  project: string,
  deployment: string,
): void {
  const given = req.headers['x-request-id'];
  const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  const send = (status: number, body: unknown, contentType = 'application/json; charset=utf-8') => {
    const text =
      typeof body === 'string' && !contentType.startsWith('application/json') ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(text),
      'x-request-id': requestId,
      ...(opts.https ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
    });
    res.end(text);
  };
  const fail = (e: InferenceProtocolError) => send(e.status, e.body, e.contentType);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > SERVING_BODY_LIMIT) {
    fail(
      new InferenceProtocolError(protocol, 413, `the body is over the limit of ${SERVING_BODY_LIMIT} bytes`),
    );
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (c: Buffer) => {
    if (refused) return;
    size += c.length;
    if (size > SERVING_BODY_LIMIT) {
      refused = true;
      fail(
        new InferenceProtocolError(
          protocol,
          413,
          `the body is over the limit of ${SERVING_BODY_LIMIT} bytes`,
        ),
      );
      return;
    }
    chunks.push(c);
  });
  req.on('error', () => res.destroy());
  req.on('end', () => {
    if (refused) return;
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
    } catch (err) {
      const message = `FALAJ_MALFORMED_JSON: the body is not valid JSON: ${(err as Error).message}`;
      fail(new InferenceProtocolError(protocol, 400, message));
      return;
    }
    // The deployment as it is now (a swap may have happened while the body arrived).
    const d = opts.deps.host.get(project, deployment);
    if (!d) {
      fail(
        new InferenceProtocolError(
          protocol,
          404,
          `no deployment '${deployment}' is being served in project '${project}'`,
        ),
      );
      return;
    }
    const request = {
      requestId,
      routingKey: routingKeyOf(req.headers),
      version: undefined,
    };
    const codec =
      protocol === 'v2' ? v2Codec(body, d, requestId) : mlflowCodec(req.headers['content-type'], body);
    infer(opts.deps, d, request, codec as Parameters<typeof infer>[3]).then(
      (a) =>
        send(
          a.status,
          a.body,
          a.contentType === 'application/json' ? 'application/json; charset=utf-8' : a.contentType,
        ),
      () => fail(new InferenceProtocolError(protocol, 500, 'internal error')),
    );
  });
}
