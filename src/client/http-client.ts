// The one HTTP client of a Falaj server, used by the CLI, the SDK and the job agent.
import type { Connection } from './config.js';
import { errorFromBody, FalajApiError } from './errors.js';
import { parseJson } from './json.js';

/**
 * When a failed request may be sent again:
 * - `idempotent`: sending it twice does no harm (reads, set-tag, log-parameter, runs/update,
 *   an artifact PUT, a log-batch of params and tags only): retried after any network failure,
 *   429, 502, 503 or 504.
 * - `unsent`: a second copy would duplicate data (a log-batch with metrics, runs/create):
 *   retried only when the request certainly never reached the server (connection refused,
 *   name not resolved) or the server refused it unread (429).
 * - `never` (the default).
 */
export type RetryPolicy = 'idempotent' | 'unsent' | 'never';

/** A raw request body and the headers that go with it (its content type). */
export interface RawBody {
  body: unknown;
  headers?: Record<string, string>;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  /** A JSON body (already shaped for the wire). */
  json?: unknown;
  /**
   * A raw body: bytes, a string, or a stream. Give a function to have it made afresh for each
   * attempt (a stream cannot be replayed).
   */
  body?: RawBody | (() => RawBody);
  /** Default `never`. */
  retry?: RetryPolicy;
  /** Per-attempt timeout; 0 for none. Default the client's. */
  timeoutMs?: number;
  /** Send the bearer token (default true; false for the login request itself). */
  auth?: boolean;
  /**
   * What a 2xx answer resolves to: its parsed JSON body (default; null when empty), its bytes
   * and headers (`bytes`, a BinaryResponse), or the Response itself, unread, to stream
   * (`response`). Errors are thrown the same way for all three.
   */
  as?: 'json' | 'bytes' | 'response';
}

/** A 2xx answer of an `as: 'bytes'` request. */
export interface BinaryResponse {
  bytes: Uint8Array;
  headers: Headers;
}

export interface ClientOptions extends Connection {
  /** The fetch to use (a wrapper for proxies or instrumentation); default the global fetch. */
  fetch?: typeof fetch;
  /** Per-attempt timeout (ms) of every request that sets none; default 0 (none). */
  timeoutMs?: number;
  /** How many times a retryable failure is retried (see RetryPolicy); default 0. */
  retries?: number;
}

const UNSENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function backoff(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 4000) * (0.75 + Math.random() / 2);
}

/**
 * HTTP to one Falaj server with one identity: the bearer token, X-Falaj-Project when a project
 * is set, JSON or raw bodies, retries by policy, and every failure as a FalajApiError (the
 * server's stable code, or FALAJ_UNREACHABLE with status 0 when no answer came).
 */
export class FalajClient {
  readonly url: string;
  readonly token: string | undefined;
  readonly project: string | undefined;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(opts: ClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.token = opts.token || undefined;
    this.project = opts.project || undefined;
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.timeoutMs = opts.timeoutMs ?? 0;
    this.retries = opts.retries ?? 0;
  }

  /** The headers every request carries (authorization, x-falaj-project), over `extra`. */
  headers(extra: Record<string, string> = {}, auth = true): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (auth && this.token) h.authorization = `Bearer ${this.token}`;
    if (this.project) h['x-falaj-project'] = this.project;
    return h;
  }

  async request<T = unknown>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    let url = this.url + path;
    if (o.query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(o.query)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const item of v) qs.append(k, item);
        else qs.append(k, String(v));
      }
      const s = qs.toString();
      if (s) url += `${url.includes('?') ? '&' : '?'}${s}`;
    }
    const retry = o.retry ?? 'never';
    const payload = o.json === undefined ? undefined : JSON.stringify(o.json);
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.retries || retry === 'never';
      const raw = typeof o.body === 'function' ? o.body() : o.body;
      const init: RequestInit & { duplex?: 'half' } = {
        method,
        headers: this.headers(
          {
            ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
            ...raw?.headers,
          },
          o.auth !== false,
        ),
      };
      if (payload !== undefined) init.body = payload;
      else if (raw) {
        init.body = raw.body as RequestInit['body'];
        init.duplex = 'half';
      }
      const timeout = o.timeoutMs ?? this.timeoutMs;
      if (timeout > 0) init.signal = AbortSignal.timeout(timeout);
      let res: Response;
      try {
        res = await this.fetch(url, init);
      } catch (err) {
        const code = networkCode(err);
        const unsent = code !== undefined && UNSENT_CODES.has(code);
        if (!last && (retry === 'idempotent' || unsent)) {
          await sleep(backoff(attempt));
          continue;
        }
        const why =
          err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : err;
        // As the Python client words it.
        throw new FalajApiError(0, 'FALAJ_UNREACHABLE', `${method} ${this.url}${path}: ${String(why)}`);
      }
      if (res.ok && o.as === 'response') return res as T;
      if (res.ok && o.as === 'bytes')
        return { bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers } as T;
      const text = await res.text();
      let parsed: unknown = null;
      if (text) {
        try {
          parsed = parseJson(text);
        } catch {
          parsed = text;
        }
      }
      if (res.ok) return parsed as T;
      const transient =
        res.status === 429 ||
        (retry === 'idempotent' && (res.status === 502 || res.status === 503 || res.status === 504));
      if (!last && transient) {
        const after = Number(res.headers.get('retry-after'));
        await sleep(Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 30_000) : backoff(attempt));
        continue;
      }
      throw errorFromBody(res.status, res.statusText, parsed);
    }
  }

  // JSON shorthands, sent once: a POST, PUT or PATCH without a body sends `{}`.
  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  post<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, { json: body ?? {} });
  }
  put<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, { json: body ?? {} });
  }
  patch<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { json: body ?? {} });
  }
  delete<T = unknown>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }
}
