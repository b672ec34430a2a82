// The shared client without a server: headers, bodies, error mapping, retries, and where the
// URL and token come from.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BinaryResponse,
  FalajApiError,
  FalajClient,
  resolveConnection,
} from '../../src/client/index.js';

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

function fakeFetch(answers: (() => Response | Promise<Response>)[]) {
  const seen: Seen[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    seen.push({
      url,
      method: String(init.method),
      headers: init.headers as Record<string, string>,
      body: init.body,
    });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  }) as unknown as typeof globalThis.fetch;
  return { fetch, seen };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const refused = () => {
  throw Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
  });
};

describe('FalajClient', () => {
  it('sends the token and the project, JSON bodies, and query strings', async () => {
    const { fetch, seen } = fakeFetch([() => json(200, { ok: 1 }), () => json(200, {})]);
    const c = new FalajClient({ url: 'http://h:1/', token: 't0', project: 'ml', fetch });
    expect(c.url).toBe('http://h:1');
    expect(await c.post('/a', { x: 1 })).toEqual({ ok: 1 });
    expect(seen[0]).toMatchObject({
      url: 'http://h:1/a',
      method: 'POST',
      headers: { authorization: 'Bearer t0', 'x-falaj-project': 'ml', 'content-type': 'application/json' },
      body: '{"x":1}',
    });
    await c.request('GET', '/b', { query: { k: 'v', n: 2, skip: undefined, many: ['1', '2'] }, auth: false });
    expect(seen[1]?.url).toBe('http://h:1/b?k=v&n=2&many=1&many=2');
    expect(seen[1]?.headers).toEqual({ 'x-falaj-project': 'ml' });
  });

  it('sends raw bodies with their own content type, and answers bytes or the response', async () => {
    const { fetch, seen } = fakeFetch([
      () => new Response(new Uint8Array([1, 2, 3]), { headers: { 'x-n': '3' } }),
      () => new Response('streamed'),
    ]);
    const c = new FalajClient({ url: 'http://h', token: undefined, project: undefined, fetch });
    const bin = await c.request<BinaryResponse>('PUT', '/f', {
      body: { body: Buffer.from('tar'), headers: { 'content-type': 'application/x-tar' } },
      as: 'bytes',
    });
    expect(seen[0]?.headers).toEqual({ 'content-type': 'application/x-tar' });
    expect([...bin.bytes]).toEqual([1, 2, 3]);
    expect(bin.headers.get('x-n')).toBe('3');
    const res = await c.request<Response>('GET', '/logs', { as: 'response' });
    expect(await res.text()).toBe('streamed');
  });

  it("maps Falaj's and MLflow's error documents, and anything else, to FalajApiError", async () => {
    const { fetch } = fakeFetch([
      () => json(404, { error: { code: 'FALAJ_NOT_FOUND', message: 'no such job', details: { id: 'j' } } }),
      () => json(400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'bad filter' }),
      () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
      () => json(404, { error: { code: 'FALAJ_NOT_FOUND', message: 'streams fail the same way' } }),
    ]);
    const c = new FalajClient({ url: 'http://h', token: 't', project: undefined, fetch });
    await expect(c.get('/a')).rejects.toMatchObject({
      name: 'FalajApiError',
      status: 404,
      errorCode: 'FALAJ_NOT_FOUND',
      message: 'no such job',
      details: { id: 'j' },
    });
    await expect(c.get('/b')).rejects.toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
    await expect(c.get('/c')).rejects.toMatchObject({
      status: 502,
      errorCode: 'HTTP_502',
      message: 'Bad Gateway',
    });
    await expect(c.request('GET', '/d', { as: 'response' })).rejects.toBeInstanceOf(FalajApiError);
  });

  it('reports an unreachable server as FALAJ_UNREACHABLE, status 0', async () => {
    const { fetch } = fakeFetch([refused]);
    const c = new FalajClient({ url: 'http://127.0.0.1:1', token: undefined, project: undefined, fetch });
    await expect(c.get('/api/v1/projects')).rejects.toMatchObject({
      status: 0,
      errorCode: 'FALAJ_UNREACHABLE',
      message: 'GET http://127.0.0.1:1/api/v1/projects: connect ECONNREFUSED 127.0.0.1:1',
    });
  });

  it('retries by policy: never by default, unsent only when the request never left', async () => {
    const opts = { url: 'http://h', token: undefined, project: undefined, retries: 2 };
    const once = fakeFetch([() => json(503, {}), () => json(200, { second: true })]);
    await expect(new FalajClient({ ...opts, fetch: once.fetch }).get('/x')).rejects.toMatchObject({
      status: 503,
    });
    expect(once.seen).toHaveLength(1);

    const idem = fakeFetch([() => json(503, {}), () => json(200, { second: true })]);
    const c = new FalajClient({ ...opts, fetch: idem.fetch });
    expect(await c.request('GET', '/x', { retry: 'idempotent' })).toEqual({ second: true });

    const unsent = fakeFetch([() => json(503, {}), refused, () => json(200, {})]);
    await expect(
      new FalajClient({ ...opts, fetch: unsent.fetch }).request('POST', '/y', { json: {}, retry: 'unsent' }),
    ).rejects.toMatchObject({ status: 503 });
    expect(unsent.seen).toHaveLength(1);
    const refusedThenOk = fakeFetch([refused, () => json(200, { ok: true })]);
    expect(
      await new FalajClient({ ...opts, fetch: refusedThenOk.fetch }).request('POST', '/y', {
        json: {},
        retry: 'unsent',
      }),
    ).toEqual({ ok: true });
  });
});

describe('resolveConnection', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-client-'));
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ url: 'http://login:1/', token: 'from-file' }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes settings, then the environment, then the login file, then the default', () => {
    const env = { FALAJ_CONFIG: file };
    expect(resolveConnection({}, env)).toEqual({
      url: 'http://login:1',
      token: 'from-file',
      project: undefined,
    });
    expect(
      resolveConnection({}, { ...env, FALAJ_URL: 'http://env', FALAJ_TOKEN: 'env-t', FALAJ_PROJECT: 'p' }),
    ).toEqual({ url: 'http://env', token: 'env-t', project: 'p' });
    expect(
      resolveConnection(
        { url: 'http://flag', token: 'flag-t', project: 'q' },
        { ...env, FALAJ_URL: 'http://env' },
      ),
    ).toEqual({ url: 'http://flag', token: 'flag-t', project: 'q' });
    // Empty variables count as unset.
    expect(resolveConnection({}, { ...env, FALAJ_URL: '', FALAJ_TOKEN: '' }).token).toBe('from-file');
    expect(resolveConnection({}, { FALAJ_CONFIG: path.join(dir, 'none.json') }).url).toBe(
      'http://127.0.0.1:7460',
    );
  });

  it("uses the file's token with another URL for the CLI, never for the SDK", () => {
    const env = { FALAJ_CONFIG: file, FALAJ_URL: 'http://elsewhere' };
    expect(resolveConnection({}, env, 'always').token).toBe('from-file');
    expect(resolveConnection({}, env, 'without-url').token).toBeUndefined();
    expect(resolveConnection({}, { FALAJ_CONFIG: file }, 'without-url').token).toBe('from-file');
  });
});
