import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, FalajError } from '../core/errors.js';
import type { FalajApp } from './services.js';

// Fastify's own error codes, translated to ours so that clients see one vocabulary.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'FALAJ_MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'FALAJ_MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'FALAJ_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'FALAJ_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'FALAJ_VALIDATION',
  FST_ERR_VALIDATION: 'FALAJ_VALIDATION',
};

export function toFalajError(err: unknown): FalajError {
  if (err instanceof FalajError) return err;
  const fe = err as Partial<FastifyError> & { validation?: unknown };
  if (fe.validation) {
    return new FalajError('FALAJ_VALIDATION', fe.message ?? 'invalid request', fe.validation);
  }
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new FalajError(mapped, fe.message ?? mapped);
  if (err instanceof SyntaxError && fe.statusCode === 400)
    return new FalajError('FALAJ_MALFORMED_JSON', err.message);
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new FalajError('FALAJ_INVALID_ARGUMENT', fe.message ?? 'bad request');
  }
  return new FalajError('FALAJ_INTERNAL', 'internal error');
}

export function installErrorHandler(app: FalajApp): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const fe = toFalajError(err);
    if (fe.code === 'FALAJ_INTERNAL') req.log.error({ err }, 'unhandled error');
    else req.log.info({ code: fe.code }, fe.message);
    if (fe.code === 'FALAJ_LOGIN_THROTTLED') {
      const retry = (fe.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      if (retry) void reply.header('retry-after', String(retry));
    }
    void reply.status(fe.status).send({ error: fe.toJSON() });
  });
  app.setNotFoundHandler({}, (req, reply) => {
    void reply.status(404).send({
      error: new FalajError(
        'FALAJ_ROUTE_NOT_FOUND',
        `no route ${req.method} ${req.url.split('?')[0]}`,
      ).toJSON(),
    });
  });
}
