// Walks every registered route with every kind of caller and checks the answer against the
// permission the route declares: deny means exactly 401 (no identity) or 403 (not allowed);
// allow means anything but 401/403 (a 400 for the empty body or a 404 for a dummy id is fine:
// the request got past access control, which is what this test is about).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';
import { type Permission, parsePermission } from '../../src/http/permissions.js';
import { type ProjectRole, roleAtLeast } from '../../src/http/roles.js';
import {
  AGENT_TOKEN_PREFIX,
  API_TOKEN_PREFIX,
  newSecretToken,
  SESSION_TOKEN_PREFIX,
  sha256Hex,
} from '../../src/security/secrets/secrets.js';
import { createTestContext, type TestContext } from '../support/app.js';
import { DIALECTS } from '../support/dialects.js';

type Caller =
  | { name: string; kind: 'anonymous' }
  | { name: string; kind: 'session'; user: string; owner: boolean; role: ProjectRole | null }
  | { name: string; kind: 'token'; user: string; role: ProjectRole | 'invoke' }
  | { name: string; kind: 'agent' };

const CALLERS: Caller[] = [
  { name: 'anonymous', kind: 'anonymous' },
  { name: 'outsider', kind: 'session', user: 'm-outsider', owner: false, role: null },
  { name: 'viewer', kind: 'session', user: 'm-viewer', owner: false, role: 'viewer' },
  { name: 'editor', kind: 'session', user: 'm-editor', owner: false, role: 'editor' },
  { name: 'maintainer', kind: 'session', user: 'm-maintainer', owner: false, role: 'maintainer' },
  { name: 'admin', kind: 'session', user: 'm-admin', owner: false, role: 'admin' },
  { name: 'owner', kind: 'session', user: 'admin', owner: true, role: null },
  { name: 'viewer-token', kind: 'token', user: 'm-admin', role: 'viewer' },
  { name: 'admin-token', kind: 'token', user: 'm-admin', role: 'admin' },
  { name: 'invoke-token', kind: 'token', user: 'm-admin', role: 'invoke' },
  { name: 'agent-token', kind: 'agent' },
];

/** Whether `caller` should get past access control for `permission`. */
function allowed(caller: Caller, permission: Permission): boolean {
  const rule = parsePermission(permission);
  if (rule.scope === 'public') return true;
  if (caller.kind === 'anonymous') return false;
  // An agent token speaks the agent protocol and nothing else.
  if (caller.kind === 'agent') return rule.scope === 'agent';
  // An invoke token calls deployments and nothing else; every member may call them.
  if (caller.kind === 'token' && caller.role === 'invoke') return rule.scope === 'invoke';
  switch (rule.scope) {
    case 'invoke':
      return caller.kind === 'token' || caller.owner || caller.role !== null;
    case 'agent':
      return caller.kind === 'session' && caller.owner;
    case 'identity':
      return true;
    case 'session':
    case 'mfa-setup':
      return caller.kind === 'session';
    case 'owner':
      return caller.kind === 'session' && caller.owner;
    case 'project': {
      if (rule.sessionOnly && caller.kind !== 'session') return false;
      const role = caller.kind === 'session' ? (caller.owner ? 'admin' : caller.role) : caller.role;
      return role !== null && role !== 'invoke' && roleAtLeast(role, rule.role!);
    }
  }
}

describe.each(DIALECTS)('role × route matrix on %s', (dialect) => {
  let t: TestContext;
  const userIds = new Map<string, string>();
  let projectId = '';

  beforeAll(async () => {
    t = await createTestContext(dialect);
    await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name: 'matrix' } });
    projectId = (
      await t.svc.store.db
        .selectFrom('projects')
        .select('id')
        .where('name', '=', 'matrix')
        .executeTakeFirstOrThrow()
    ).id;
    for (const c of CALLERS) {
      if (c.kind !== 'session' || c.owner) continue;
      await t.request('POST', '/api/v1/users', {
        token: t.adminToken,
        body: { username: c.user, password: 'matrix-password-123' },
      });
      if (c.role)
        await t.request('PUT', `/api/v1/projects/matrix/members/${c.user}`, {
          token: t.adminToken,
          body: { role: c.role },
        });
    }
    for (const row of await t.svc.store.db.selectFrom('users').select(['id', 'username']).execute())
      userIds.set(row.username, row.id);
  });
  afterAll(async () => t?.close());

  /** A fresh credential per request, written straight to the store (a logout must not spoil the next row). */
  async function credential(caller: Caller): Promise<string | undefined> {
    if (caller.kind === 'anonymous') return undefined;
    const now = t.clock.now();
    if (caller.kind === 'agent') {
      const token = newSecretToken(AGENT_TOKEN_PREFIX);
      await t.svc.store.db
        .insertInto('agent_tokens')
        .values({
          id: newId(),
          name: 'matrix',
          token_hash: sha256Hex(token),
          created_by: 'admin',
          created_at: now,
          expires_at: null,
          revoked_at: null,
          last_used_at: null,
        })
        .execute();
      return token;
    }
    const userId = userIds.get(caller.user)!;
    if (caller.kind === 'session') {
      const token = newSecretToken(SESSION_TOKEN_PREFIX);
      await t.svc.store.db
        .insertInto('sessions')
        .values({
          id: newId(),
          token_hash: sha256Hex(token),
          user_id: userId,
          created_at: now,
          expires_at: now + 3600_000,
          last_used_at: now,
          revoked_at: null,
        })
        .execute();
      return token;
    }
    const token = newSecretToken(API_TOKEN_PREFIX);
    await t.svc.store.db
      .insertInto('api_tokens')
      .values({
        id: newId(),
        name: 'matrix',
        token_hash: sha256Hex(token),
        user_id: userId,
        project_id: projectId,
        role: caller.role,
        created_at: now,
        expires_at: now + 3600_000,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();
    return token;
  }

  function concreteUrl(url: string): string {
    return url
      .replace(':project', 'matrix')
      .replace(/:[A-Za-z]+/g, 'zz-dummy')
      .replace(/\*$/, 'matrix-probe.txt');
  }

  it('every route declares a permission and the walk covers them all', () => {
    expect(t.app.falajRoutes.length).toBeGreaterThan(15);
    for (const r of t.app.falajRoutes) expect(r.permission, `${r.method} ${r.url}`).toBeTruthy();
  });

  it('each caller gets 401/403 exactly where the declared permission says', async () => {
    const mismatches: string[] = [];
    let checked = 0;
    for (const route of t.app.falajRoutes) {
      for (const caller of CALLERS) {
        const token = await credential(caller);
        const res = await t.app.inject({
          method: route.method as 'GET',
          url: concreteUrl(route.url),
          // Routes without a :project in the URL (the MLflow API) take it from this header.
          headers: { 'x-falaj-project': 'matrix', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        });
        const expectAllowed = allowed(caller, route.permission);
        const denied = res.statusCode === 401 || res.statusCode === 403;
        const expectedDenial = caller.kind === 'anonymous' ? 401 : 403;
        checked++;
        if (expectAllowed && denied)
          mismatches.push(`${caller.name} ${route.method} ${route.url}: got ${res.statusCode} ${res.body}`);
        if (!expectAllowed && res.statusCode !== expectedDenial) {
          mismatches.push(
            `${caller.name} ${route.method} ${route.url}: expected ${expectedDenial}, got ${res.statusCode}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(t.app.falajRoutes.length * CALLERS.length);
  });

  it('a route without a permission cannot be registered', async () => {
    const { buildApp } = await import('../../src/server/app.js');
    const app = await buildApp(t.svc);
    expect(() => app.get('/no-permission', async () => 'x')).toThrow(/declares no permission/);
    await app.close();
  });

  it('every route appears in the OpenAPI document with a summary', async () => {
    const doc = (await t.request('GET', '/api/openapi.json')).json() as {
      paths: Record<string, Record<string, { summary?: string }>>;
    };
    for (const r of t.app.falajRoutes) {
      const openapiPath = r.url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\*$/, '{*}');
      const op = doc.paths[openapiPath]?.[r.method.toLowerCase()];
      expect(op?.summary, `${r.method} ${r.url} in OpenAPI`).toBeTruthy();
    }
  });
});
