/**
 * An error from the Falaj server (or from reaching it). `errorCode` is MLflow's `error_code`
 * on the MLflow routes (`RESOURCE_DOES_NOT_EXIST`, `INVALID_PARAMETER_VALUE`, ...) and Falaj's
 * stable code on its own routes (`FALAJ_UNAUTHENTICATED`, ...); `FALAJ_UNREACHABLE` when no
 * answer came at all. `status` is the HTTP status (0 when unreachable, or for an error found
 * on this side of the wire).
 */
export class FalajApiError extends Error {
  override readonly name = 'FalajApiError';

  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The error body of either API: MLflow's `{error_code, message}` or Falaj's `{error: {code, message}}`. */
export function errorFromBody(status: number, statusText: string, body: unknown): FalajApiError {
  if (body && typeof body === 'object') {
    const b = body as { error_code?: unknown; message?: unknown; error?: unknown };
    if (typeof b.error_code === 'string') {
      return new FalajApiError(status, b.error_code, typeof b.message === 'string' ? b.message : statusText);
    }
    const e = b.error as { code?: unknown; message?: unknown; details?: unknown } | undefined;
    if (e && typeof e === 'object' && typeof e.code === 'string') {
      return new FalajApiError(
        status,
        e.code,
        typeof e.message === 'string' ? e.message : statusText,
        e.details,
      );
    }
  }
  return new FalajApiError(status, `HTTP_${status}`, statusText || `HTTP ${status}`);
}
