import { DEFAULT_HOST, DEFAULT_PORT } from '../core/config.js';
import { readCliConfig } from './cli-config.js';

/** Global options every remote command accepts. */
export interface RemoteOptions {
  url?: string;
  token?: string;
  /** Project for APIs whose URLs carry none (MLflow's): sent as X-Falaj-Project. */
  project?: string;
  json?: boolean;
}

/** An error answered by the server, with its stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/**
 * A small HTTP client for the CLI. URL and token come from flags, then FALAJ_URL/FALAJ_TOKEN,
 * then the file `falaj login` wrote.
 */
export class FalajClient {
  readonly url: string;
  readonly token: string | undefined;
  readonly project: string | undefined;

  constructor(opts: RemoteOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    const file = readCliConfig(env);
    // Empty environment variables count as unset.
    this.url = (opts.url || env.FALAJ_URL || file.url || `http://${DEFAULT_HOST}:${DEFAULT_PORT}`).replace(
      /\/+$/,
      '',
    );
    this.token = opts.token || env.FALAJ_TOKEN || file.token;
    this.project = opts.project || env.FALAJ_PROJECT || undefined;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    opts: { auth?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (opts.auth !== false && this.token) headers.authorization = `Bearer ${this.token}`;
    if (this.project) headers['x-falaj-project'] = this.project;
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new ApiError(0, 'FALAJ_UNREACHABLE', `cannot reach ${this.url}: ${(err as Error).cause ?? err}`);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : null;
    if (!res.ok) {
      // Falaj's error document, or MLflow's ({error_code, message}) on the /api/2.0/mlflow routes.
      const body = parsed as {
        error?: { code?: string; message?: string; details?: unknown };
        error_code?: string;
        message?: string;
      } | null;
      const e = body?.error;
      throw new ApiError(
        res.status,
        e?.code ?? body?.error_code ?? `HTTP_${res.status}`,
        e?.message ?? body?.message ?? res.statusText,
        e?.details,
      );
    }
    return parsed as T;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  post<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body ?? {});
  }
  put<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, body ?? {});
  }
  patch<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body ?? {});
  }
  delete<T = unknown>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }
}
