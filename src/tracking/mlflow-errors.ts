import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, FalajError } from '../core/errors.js';
import { toFalajError } from '../http/error-handler.js';
import type { FalajApp } from '../http/services.js';
import { quoteNonFiniteTokens } from './lenient-json.js';

/** MLflow's error codes (databricks.ErrorCode) that this surface answers with, and their statuses. */
export const MLFLOW_STATUS = {
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  RESOURCE_ALREADY_EXISTS: 400,
  BAD_REQUEST: 400,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  TEMPORARILY_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
} as const;

export type MlflowErrorCode = keyof typeof MLFLOW_STATUS;

// Falaj's codes as an MLflow client expects to see them. Anything not listed is an internal error.
const FROM_FALAJ: Partial<Record<ErrorCode, MlflowErrorCode>> = {
  FALAJ_VALIDATION: 'INVALID_PARAMETER_VALUE',
  FALAJ_INVALID_ARGUMENT: 'INVALID_PARAMETER_VALUE',
  FALAJ_MALFORMED_JSON: 'BAD_REQUEST',
  // MLflow answers an oversized log-batch with INVALID_PARAMETER_VALUE (400), not 413.
  FALAJ_PAYLOAD_TOO_LARGE: 'INVALID_PARAMETER_VALUE',
  FALAJ_UNSUPPORTED_MEDIA_TYPE: 'BAD_REQUEST',
  FALAJ_INVALID_PATH: 'INVALID_PARAMETER_VALUE',
  FALAJ_NOT_FOUND: 'RESOURCE_DOES_NOT_EXIST',
  FALAJ_ROUTE_NOT_FOUND: 'RESOURCE_DOES_NOT_EXIST',
  FALAJ_CONFLICT: 'RESOURCE_ALREADY_EXISTS',
  FALAJ_UNAUTHENTICATED: 'UNAUTHENTICATED',
  FALAJ_TOKEN_EXPIRED: 'UNAUTHENTICATED',
  FALAJ_TOKEN_REVOKED: 'UNAUTHENTICATED',
  FALAJ_FORBIDDEN: 'PERMISSION_DENIED',
  FALAJ_MFA_REQUIRED: 'PERMISSION_DENIED',
  FALAJ_ACCOUNT_DISABLED: 'PERMISSION_DENIED',
  FALAJ_STORE_UNAVAILABLE: 'TEMPORARILY_UNAVAILABLE',
};

export function mlflowCodeOf(err: FalajError): MlflowErrorCode {
  return FROM_FALAJ[err.code] ?? 'INTERNAL_ERROR';
}

/**
 * Errors on the MLflow surface in MLflow's shape, `{"error_code", "message"}`, with MLflow's
 * statuses: the 401/403 of the auth hook and schema errors included (a plugin-scoped handler
 * sees the errors of hooks that run for its routes).
 */
export function installMlflowErrorHandler(scope: FalajApp, codeOf = mlflowCodeOf): void {
  scope.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const fe = toFalajError(err);
    const code = codeOf(fe);
    if (code === 'INTERNAL_ERROR') req.log.error({ err }, 'unhandled error');
    else req.log.info({ code: fe.code, mlflow: code }, fe.message);
    const message = code === 'INTERNAL_ERROR' ? 'internal error' : fe.message;
    void reply.status(MLFLOW_STATUS[code]).send({ error_code: code, message });
  });
}

/**
 * A plugin scope that speaks MLflow's REST dialect (tracking and the model registry): errors in
 * MLflow's shape (`codeOf` maps a domain's own codes), and a JSON parser that accepts what
 * MLflow clients send (an empty body, and the bare NaN/Infinity tokens of Python's json module)
 * where the rest of the API is strict.
 */
export function installMlflowScope(scope: FalajApp, codeOf = mlflowCodeOf): void {
  installMlflowErrorHandler(scope, codeOf);
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      try {
        done(null, JSON.parse(quoteNonFiniteTokens(text)));
      } catch {
        done(
          new FalajError('FALAJ_MALFORMED_JSON', `Malformed JSON body: ${(err as Error).message}`),
          undefined,
        );
      }
    }
  });
}
