import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/core/config.js';
import { buildApp } from '../../src/server/app.js';
import { createServices } from '../../src/server/services-factory.js';
import { ADMIN_PASSWORD, createTestContext, type TestContext } from '../support/app.js';
import { createSandbox, DIALECTS } from '../support/dialects.js';

describe.each(DIALECTS)('HTTP basics on %s', (dialect) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(dialect);
  });
  afterAll(async () => t?.close());

  it('answers health, readiness and Prometheus metrics', async () => {
    expect((await t.request('GET', '/healthz')).json()).toEqual({ status: 'ok' });
    expect((await t.request('GET', '/readyz')).json()).toEqual({ status: 'ready', store: dialect });
    await t.request('GET', '/api/v1/projects', { token: t.adminToken });
    const metrics = await t.request('GET', '/metrics');
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^# HELP falaj_/m);
    expect(metrics.body).toContain(
      'falaj_http_requests_total{method="GET",route="/api/v1/projects",status="200"}',
    );
    expect(metrics.body).toContain('falaj_http_request_duration_seconds_bucket');
    // Every metric name carries the prefix.
    const names = [...metrics.body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
    expect(names.filter((n) => !n.startsWith('falaj_'))).toEqual([]);
  });

  it('publishes an OpenAPI 3 document', async () => {
    const doc = (await t.request('GET', '/api/openapi.json')).json() as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/api/v1/auth/login');
  });

  it('keeps a well-formed caller request id and makes one up otherwise', async () => {
    const given = await t.request('GET', '/healthz', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(given.headers['x-request-id']).toBe('trace-abc.123');
    const bad = await t.request('GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route with FALAJ_ROUTE_NOT_FOUND', async () => {
    const res = await t.request('GET', '/api/v1/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'FALAJ_ROUTE_NOT_FOUND', message: 'no route GET /api/v1/nope' },
    });
  });

  it('rejects a malformed Authorization header and an unknown credential with 401', async () => {
    const basic = await t.request('GET', '/api/v1/projects', {
      headers: { authorization: 'Basic YWRtaW46eA==' },
    });
    expect(basic.statusCode).toBe(401);
    expect(basic.json().error.code).toBe('FALAJ_UNAUTHENTICATED');
    const junk = await t.request('GET', '/api/v1/projects', { token: 'falaj_not-a-real-token' });
    expect(junk.statusCode).toBe(401);
  });
});

describe('logging and readiness', () => {
  it('logs one line per request with its request id, and never the Authorization header or a password', async () => {
    const sb = await createSandbox('sqlite');
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const config = resolveConfig(
      { dataDir: sb.dataDir, logLevel: 'info' },
      { FALAJ_ADMIN_PASSWORD: ADMIN_PASSWORD },
    );
    const svc = await createServices(config);
    const { bootstrapAdmin } = await import('../../src/security/auth/bootstrap.js');
    await bootstrapAdmin(svc);
    const app = await buildApp(svc, { logger: pino({ level: 'info' }, sink) });
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'admin', password: ADMIN_PASSWORD },
    });
    const token = (login.json() as { token: string }).token;
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/projects',
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-42' },
    });
    expect(res.statusCode).toBe(200);
    const all = lines.join('');
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.reqId === 'req-42');
    expect(line).toMatchObject({ msg: 'request', status: 200, method: 'GET' });
    expect(all).not.toContain(token);
    expect(all).not.toContain(ADMIN_PASSWORD);

    // With the store gone, readiness says so (503) while liveness stays up.
    await svc.store.close();
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.code).toBe('FALAJ_STORE_UNAVAILABLE');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close();
    await sb.dispose();
  });
});
