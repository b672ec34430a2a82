// The error a protocol codec throws: it carries the HTTP status and the body in the protocol's
// own shape (V2: {"error": "..."}; MLflow: {"error_code": "BAD_REQUEST", "message": "..."}),
// so the serving routes send it as is, never as Falaj's {"error": {code, ...}} envelope.

export type Protocol = 'v2' | 'mlflow';

export type V2ErrorBody = { error: string };
export type MlflowErrorBody = { error_code: string; message: string };

export class InferenceProtocolError extends Error {
  readonly protocol: Protocol;
  readonly status: number;
  /** The body to send: JSON for both protocols, except MLflow's 415 (text/plain, a string). */
  readonly body: V2ErrorBody | MlflowErrorBody | string;
  readonly contentType: 'application/json' | 'text/plain';

  constructor(protocol: Protocol, status: number, message: string, options?: { plainText?: boolean }) {
    super(message);
    this.name = 'InferenceProtocolError';
    this.protocol = protocol;
    this.status = status;
    if (options?.plainText) {
      this.body = message;
      this.contentType = 'text/plain';
    } else {
      this.body = protocol === 'v2' ? { error: message } : { error_code: 'BAD_REQUEST', message };
      this.contentType = 'application/json';
    }
  }
}

export function isInferenceProtocolError(err: unknown): err is InferenceProtocolError {
  return err instanceof InferenceProtocolError;
}

/** A bad-input failure before the protocol is known; each codec rethrows it in its own shape. */
export class InputError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.name = 'InputError';
    this.status = status;
  }
}
