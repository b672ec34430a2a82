import { ERROR_CODES, type ErrorCode } from './error-codes.js';

export { ERROR_CODES, type ErrorCode };

/** An error with a stable code; the HTTP layer turns it into `{"error": {code, message, details}}`. */
export class FalajError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'FalajError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isFalajError(err: unknown): err is FalajError {
  return err instanceof FalajError;
}

export function notFound(what: string, id: string): FalajError {
  return new FalajError('FALAJ_NOT_FOUND', `${what} '${id}' does not exist`, { kind: what, id });
}
