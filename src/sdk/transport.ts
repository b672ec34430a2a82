import { errorFromBody, FalajApiError } from './errors.js';
import { parseJson } from './wire.js';

/**
 * When a failed request may be sent again:
 * - `idempotent`: sending it twice does no harm (reads, set-tag, log-parameter, runs/update,
 *   an artifact PUT, a log-batch of params and tags only): retried after any network failure,
 *   429, 502, 503 or 504.
 * - `unsent`: a second copy would duplicate data (a log-batch with metrics, runs/create):
 *   retried only when the request certainly never reached the server (connection refused,
 *   name not resolved) or the server refused it unread (429).
 * - `never`.
 */
export type RetryPolicy = 'idempotent' | 'unsent' | 'never';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  /** A JSON body (already shaped for the wire). */
  json?: unknown;
  /** A raw body, made afresh for each attempt (a stream cannot be replayed). */
  body?: () => { body: unknown; headers?: Record<string, string> };
  retry: RetryPolicy;
  /** Per-attempt timeout; 0 for none (uploads). */
  timeoutMs?: number;
  /** Answer a 2xx with the raw bytes and headers instead of parsed JSON. */
  binary?: boolean;
}

/** A 2xx answer of a `binary` request. */
export interface BinaryResponse {
  bytes: Uint8Array;
  headers: Headers;
}

export interface TransportOptions {
  url: string;
  token: string | undefined;
  project: string | undefined;
  fetch: typeof fetch;
  timeoutMs: number;
  retries: number;
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

/** HTTP to one Falaj server with one identity: auth headers, JSON, error bodies, retries. */
export class Transport {
  constructor(readonly opts: TransportOptions) {}

  get url(): string {
    return this.opts.url;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    if (this.opts.project) h['x-falaj-project'] = this.opts.project;
    return h;
  }

  async request<T>(method: string, path: string, o: RequestOptions): Promise<T> {
    let url = this.opts.url + path;
    if (o.query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(o.query)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const item of v) qs.append(k, item);
        else qs.append(k, String(v));
      }
      const s = qs.toString();
      if (s) url += `?${s}`;
    }
    const payload = o.json === undefined ? undefined : JSON.stringify(o.json);
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.opts.retries || o.retry === 'never';
      const raw = o.body?.();
      const init: RequestInit & { duplex?: 'half' } = {
        method,
        headers: this.headers({
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...raw?.headers,
        }),
      };
      if (payload !== undefined) init.body = payload;
      else if (raw) {
        init.body = raw.body as RequestInit['body'];
        init.duplex = 'half';
      }
      const timeout = o.timeoutMs ?? this.opts.timeoutMs;
      if (timeout > 0) init.signal = AbortSignal.timeout(timeout);
      let res: Response;
      try {
        res = await this.opts.fetch(url, init);
      } catch (err) {
        const code = networkCode(err);
        const unsent = code !== undefined && UNSENT_CODES.has(code);
        if (!last && (o.retry === 'idempotent' || unsent)) {
          await sleep(backoff(attempt));
          continue;
        }
        const why =
          err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : err;
        throw new FalajApiError(0, 'FALAJ_UNREACHABLE', `${method} ${this.opts.url}${path}: ${String(why)}`);
      }
      if (o.binary && res.ok)
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
        (o.retry === 'idempotent' && (res.status === 502 || res.status === 503 || res.status === 504));
      if (!last && transient && o.retry !== 'never') {
        const after = Number(res.headers.get('retry-after'));
        await sleep(Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 30_000) : backoff(attempt));
        continue;
      }
      throw errorFromBody(res.status, res.statusText, parsed);
    }
  }
}

function backoff(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 4000) * (0.75 + Math.random() / 2);
}
