import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/core/clock.js';
import { type ConfigFlags, resolveConfig } from '../../src/core/config.js';
import type { Services } from '../../src/http/services.js';
import { bootstrapAdmin } from '../../src/security/auth/bootstrap.js';
import { buildApp } from '../../src/server/app.js';
import { createServices } from '../../src/server/services-factory.js';
import { createSandbox, type DialectName, type Sandbox } from './dialects.js';

export const ADMIN_PASSWORD = 'correct-horse-battery-staple';

export type TestApp = Awaited<ReturnType<typeof buildApp>>;

/** A whole server in process on a fresh store: app.inject() for requests, a manual clock for time. */
export interface TestContext {
  sandbox: Sandbox;
  svc: Services;
  app: TestApp;
  clock: ManualClock;
  /** A session token of the bootstrap owner `admin`. */
  adminToken: string;
  /** JSON request helper; `token` adds the bearer header. */
  request(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    opts?: { token?: string | undefined; body?: unknown; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  login(username: string, password: string, extra?: Record<string, string>): Promise<string>;
  /** Creates a user with a known password and returns a session token for them. */
  userWithSession(username: string, opts?: { owner?: boolean }): Promise<string>;
  close(): Promise<void>;
}

/** `flags`: server flags beyond the sandbox's store (e.g. `{ executor: 'agent' }`). */
export async function createTestContext(dialect: DialectName, flags: ConfigFlags = {}): Promise<TestContext> {
  const sandbox = await createSandbox(dialect);
  const clock = new ManualClock(Date.UTC(2026, 10, 26, 12, 0, 0));
  const config = resolveConfig(
    { ...flags, dataDir: sandbox.dataDir, databaseUrl: sandbox.databaseUrl, logLevel: 'silent' },
    { FALAJ_ADMIN_PASSWORD: ADMIN_PASSWORD },
  );
  const svc = await createServices(config, clock);
  await bootstrapAdmin(svc);
  const app = await buildApp(svc);
  await app.ready();

  const request: TestContext['request'] = (method, url, opts = {}) =>
    app.inject({
      method,
      url,
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
      ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
    });
  const login = async (username: string, password: string, extra: Record<string, string> = {}) => {
    const res = await request('POST', '/api/v1/auth/login', { body: { username, password, ...extra } });
    if (res.statusCode !== 200) throw new Error(`login ${username} failed: ${res.statusCode} ${res.body}`);
    return (res.json() as { token: string }).token;
  };
  const adminToken = await login('admin', ADMIN_PASSWORD);
  return {
    sandbox,
    svc,
    app,
    clock,
    adminToken,
    request,
    login,
    async userWithSession(username, opts = {}) {
      const res = await request('POST', '/api/v1/users', {
        token: adminToken,
        body: { username, password: `${username}-password-123`, owner: opts.owner ?? false },
      });
      if (res.statusCode !== 201) throw new Error(`create user ${username}: ${res.statusCode} ${res.body}`);
      return login(username, `${username}-password-123`);
    },
    async close() {
      await app.close();
      await svc.store.close();
      await sandbox.dispose();
    },
  };
}
