import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../src/security/audit/audit-verify.js';
import type { AuditEventsTable } from '../../../src/store/schema.js';
import { ADMIN_PASSWORD, createTestContext, type TestContext } from '../../support/app.js';
import { DIALECTS } from '../../support/dialects.js';

type EventView = {
  seq: number;
  time: string;
  actor: string;
  action: string;
  objectType: string;
  objectId: string;
  project: string | null;
  outcome: string;
  status: number;
  details: unknown;
};
type Page = { events: EventView[]; next?: number };

describe.each(DIALECTS)('audit trail over HTTP on %s', (dialect) => {
  let t: TestContext;
  let alice: string; // admin of alpha
  let bob: string; // viewer of alpha
  let t0: number;

  const rows = async (): Promise<AuditEventsTable[]> =>
    t.svc.store.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
  /**
   * The fallback audit hook writes its event after the response has gone out (onResponse), so a
   * test waits for the event of the request it just made, found by its request id, before the
   * next step: a wait for a condition, not for an amount of time.
   */
  const recorded = async (res: LightMyRequestResponse): Promise<AuditEventsTable> => {
    const id = String(res.headers['x-request-id']);
    for (let i = 0; i < 1000; i++) {
      const hit = await t.svc.store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('request_id', '=', id)
        .orderBy('seq', 'desc')
        .executeTakeFirst();
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`no audit event for request ${id} (${res.statusCode})`);
  };
  const get = async (url: string, token = t.adminToken) => {
    const res = await t.request('GET', url, { token });
    if (res.statusCode === 401 || res.statusCode === 403) await recorded(res);
    return { status: res.statusCode, body: res.json() as Page & { error?: { code: string } } };
  };
  /** A request whose audit event is written before this returns. */
  const send = async (...args: Parameters<TestContext['request']>) => {
    const res = await t.request(...args);
    const event = await recorded(res);
    return Object.assign(res, { event });
  };

  beforeAll(async () => {
    t = await createTestContext(dialect);
    t0 = t.clock.now();
    for (const name of ['alpha', 'beta']) {
      t.clock.advance(60_000);
      const res = await send('POST', '/api/v1/projects', { token: t.adminToken, body: { name } });
      expect(res.statusCode).toBe(201);
    }
    t.clock.advance(60_000);
    alice = await t.userWithSession('alice');
    bob = await t.userWithSession('bob');
    t.clock.advance(60_000);
    for (const [user, role] of [
      ['alice', 'admin'],
      ['bob', 'viewer'],
    ] as const) {
      const res = await send('PUT', `/api/v1/projects/alpha/members/${user}`, {
        token: t.adminToken,
        body: { role },
      });
      expect(res.statusCode).toBe(200);
    }
    t.clock.advance(60_000);
    const res = await send('PUT', '/api/v1/projects/beta/members/bob', {
      token: t.adminToken,
      body: { role: 'editor' },
    });
    expect(res.statusCode).toBe(200);
  });
  afterAll(async () => t?.close());

  it('records an unauthenticated GET as denied with status 401', async () => {
    const res = await send('GET', '/api/v1/projects');
    expect(res.statusCode).toBe(401);
    expect(res.event).toMatchObject({
      actor: 'anonymous',
      outcome: 'denied',
      status: 401,
      object_type: 'route',
      object_id: '/api/v1/projects',
      request_id: res.headers['x-request-id'],
    });
    // A bad token too, without the token itself.
    const bad = await send('GET', '/api/v1/projects', { token: 'falaj_not-a-real-token' });
    expect(bad.statusCode).toBe(401);
    const ev = bad.event;
    expect(ev).toMatchObject({ outcome: 'denied', status: 401 });
    expect(JSON.stringify(ev)).not.toContain('not-a-real-token');
  });

  it('records a validation failure on a POST as a failure', async () => {
    const res = await send('POST', '/api/v1/projects', {
      token: t.adminToken,
      body: { name: 'Bad Name!' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.event).toMatchObject({
      actor: 'user:admin',
      action: 'http.post',
      outcome: 'failure',
      status: 400,
      object_id: '/api/v1/projects',
    });
  });

  it('records a 403 as denied', async () => {
    const res = await send('GET', '/api/v1/audit', { token: bob });
    expect(res.statusCode).toBe(403);
    expect(res.event).toMatchObject({ actor: 'user:bob', outcome: 'denied', status: 403 });
  });

  it('records each mutating request once, in the chain, and the chain verifies', async () => {
    const before = (await rows()).length;
    await send('PUT', '/api/v1/projects/alpha/members/bob', { token: alice, body: { role: 'viewer' } });
    await send('DELETE', '/api/v1/projects/beta/members/nobody', { token: t.adminToken }); // 404
    await send('POST', '/api/v1/no/such/route', { token: t.adminToken, body: {} }); // 404
    const added = (await rows()).slice(before);
    expect(added.map((r) => [r.action, r.outcome, r.status])).toEqual([
      ['project.member.set', 'success', 200],
      ['http.delete', 'failure', 404],
      ['http.post', 'failure', 404],
    ]);
    expect(await verifyAuditChain(t.svc.store)).toMatchObject({ ok: true });
  });

  it('the owner lists everything newest-first, with details as JSON', async () => {
    const { status, body } = await get('/api/v1/audit');
    expect(status).toBe(200);
    const all = await rows();
    expect(body.events.map((e) => e.seq)).toEqual(
      all
        .map((r) => r.seq)
        .reverse()
        .slice(0, 100),
    );
    const set = body.events.find((e) => e.action === 'project.member.set' && e.project === 'beta')!;
    expect(set).toMatchObject({
      actor: 'user:admin',
      objectType: 'membership',
      objectId: 'beta/bob',
      outcome: 'success',
      details: { role: 'editor', previousRole: null },
    });
    expect(set.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    const old = await get('/api/v1/audit?order=oldest&limit=3');
    expect(old.body.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(old.body.events[0]).toMatchObject({ action: 'user.bootstrap', actor: 'system' });
  });

  it('filters by project, actor, action (exact or prefix), outcome and time', async () => {
    const byProject = (await get('/api/v1/audit?project=beta&order=oldest')).body.events;
    // The refused DELETE of a missing member of beta (above) belongs to beta too.
    expect(byProject.map((e) => e.action)).toEqual(['project.create', 'project.member.set', 'http.delete']);
    expect(byProject.every((e) => e.project === 'beta')).toBe(true);

    const byActor = (await get('/api/v1/audit?actor=user:alice')).body.events;
    expect(byActor.length).toBeGreaterThan(0);
    expect(byActor.every((e) => e.actor === 'user:alice')).toBe(true);

    const creates = (await get('/api/v1/audit?action=project.create&order=oldest')).body.events;
    expect(creates.map((e) => e.objectId)).toEqual(['alpha', 'beta']);
    const projectActions = (await get('/api/v1/audit?action=project.*')).body.events;
    expect(new Set(projectActions.map((e) => e.action))).toEqual(
      new Set(['project.create', 'project.member.set']),
    );

    const denied = (await get('/api/v1/audit?outcome=denied')).body.events;
    expect(denied.length).toBeGreaterThanOrEqual(3);
    expect(denied.every((e) => e.outcome === 'denied')).toBe(true);

    // The clock stood at t0+1min for alpha, +2min for beta, +3min for the users.
    const iso = (ms: number) => new Date(ms).toISOString();
    const window = (
      await get(`/api/v1/audit?since=${iso(t0 + 60_000)}&until=${iso(t0 + 120_000)}&order=oldest`)
    ).body.events;
    expect(window.map((e) => `${e.action}:${e.objectId}`)).toEqual([
      'project.create:alpha',
      'project.create:beta',
    ]);
    const combined = (
      await get(`/api/v1/audit?project=alpha&action=project.member.set&since=${iso(t0 + 240_000)}`)
    ).body.events;
    expect(combined.map((e) => e.objectId).sort()).toEqual(['alpha/alice', 'alpha/bob', 'alpha/bob']);
  });

  it('pages with `after` in either order, without gaps or repeats', async () => {
    const all = (await rows()).map((r) => r.seq);
    for (const order of ['newest', 'oldest'] as const) {
      const seen: number[] = [];
      let after: number | undefined;
      for (let i = 0; i < 100; i++) {
        const url = `/api/v1/audit?limit=4&order=${order}${after !== undefined ? `&after=${after}` : ''}`;
        const { body } = await get(url);
        expect(body.events.length).toBeLessThanOrEqual(4);
        seen.push(...body.events.map((e) => e.seq));
        if (body.next === undefined) break;
        after = body.next;
      }
      // Events written while paging (none here: GETs by the owner are not recorded) would only
      // appear at the newest end.
      expect(seen).toEqual(order === 'oldest' ? all : [...all].reverse());
    }
    // A page that ends exactly at the last event says there is no next page.
    const exact = await get(`/api/v1/audit?order=oldest&limit=${all.length}`);
    expect(exact.body.next).toBeUndefined();
    expect(exact.body.events).toHaveLength(all.length);
  });

  it('refuses bad queries with stable codes', async () => {
    const cases = [
      ['/api/v1/audit?limit=1001', 'FALAJ_VALIDATION'],
      ['/api/v1/audit?limit=0', 'FALAJ_VALIDATION'],
      ['/api/v1/audit?after=-1', 'FALAJ_VALIDATION'],
      ['/api/v1/audit?since=yesterday', 'FALAJ_VALIDATION'],
      ['/api/v1/audit?outcome=maybe', 'FALAJ_VALIDATION'],
      ['/api/v1/audit?order=sideways', 'FALAJ_VALIDATION'],
      ['/api/v1/audit?colour=red', 'FALAJ_VALIDATION'],
      ['/api/v1/audit?project=nope', 'FALAJ_NOT_FOUND'],
    ] as const;
    for (const [url, code] of cases) {
      const res = await get(url);
      expect([url, res.body.error?.code]).toEqual([url, code]);
    }
  });

  it("a project admin sees only their project's events; others get 403", async () => {
    const mine = await get('/api/v1/projects/alpha/audit?limit=1000', alice);
    expect(mine.status).toBe(200);
    const projects = await t.svc.store.db.selectFrom('projects').select(['id', 'name']).execute();
    const alphaId = projects.find((p) => p.name === 'alpha')!.id;
    const expected = (await rows()).filter((r) => r.project_id === alphaId).map((r) => r.seq);
    expect(mine.body.events.map((e) => e.seq)).toEqual(expected.reverse());
    expect(mine.body.events.every((e) => e.project === 'alpha')).toBe(true);
    // Filters apply within the project.
    const sets = await get('/api/v1/projects/alpha/audit?action=project.member.set&actor=user:alice', alice);
    expect(sets.body.events.map((e) => e.objectId)).toEqual(['alpha/bob']);

    expect((await get('/api/v1/projects/beta/audit', alice)).status).toBe(403);
    expect((await get('/api/v1/audit', alice)).status).toBe(403);
    expect((await get('/api/v1/audit?project=alpha', alice)).status).toBe(403);
    expect((await get('/api/v1/projects/alpha/audit', bob)).status).toBe(403); // viewer
    expect((await get('/api/v1/projects/beta/audit', bob)).status).toBe(403); // editor
    expect((await get('/api/v1/projects/alpha/audit')).status).toBe(200); // the owner
    expect((await get('/api/v1/projects/alpha/audit', '')).status).toBe(401);
  });

  it('an API token with the admin role on a project reads that project only', async () => {
    const created = await send('POST', '/api/v1/projects/alpha/tokens', {
      token: alice,
      body: { name: 'auditor', role: 'admin' },
    });
    expect(created.statusCode).toBe(201);
    const token = (created.json() as { token: string }).token;
    expect((await get('/api/v1/projects/alpha/audit', token)).status).toBe(200);
    expect((await get('/api/v1/audit', token)).status).toBe(403);
    const viewerToken = (
      await send('POST', '/api/v1/projects/alpha/tokens', {
        token: alice,
        body: { name: 'reader', role: 'viewer' },
      })
    ).json() as { token: string };
    expect((await get('/api/v1/projects/alpha/audit', viewerToken.token)).status).toBe(403);
  });

  it('no password, session token or API token ever reaches the chain', async () => {
    const password = 'Pa55-phrase-known-to-the-test';
    const newPassword = 'An0ther-secret-after-change';
    const guess = 'Wr0ng-guess-also-secret';
    const secrets: string[] = [password, newPassword, guess, ADMIN_PASSWORD];

    const created = await send('POST', '/api/v1/users', {
      token: t.adminToken,
      body: { username: 'carol', password },
    });
    expect(created.statusCode).toBe(201);
    // A refused body that carries a password (unknown field): recorded by route, not by body.
    const refused = await send('POST', '/api/v1/users', {
      token: t.adminToken,
      body: { username: 'dave', password, colour: 'red' },
    });
    expect(refused.statusCode).toBe(400);
    expect(
      (await send('POST', '/api/v1/auth/login', { body: { username: 'carol', password: guess } })).statusCode,
    ).toBe(401);
    const session = await t.login('carol', password);
    secrets.push(session);
    await send('PUT', '/api/v1/projects/alpha/members/carol', {
      token: t.adminToken,
      body: { role: 'editor' },
    });
    const tok = await send('POST', '/api/v1/projects/alpha/tokens', {
      token: session,
      body: { name: 'ci', role: 'viewer' },
    });
    expect(tok.statusCode).toBe(201);
    const apiToken = (tok.json() as { token: string }).token;
    secrets.push(apiToken);
    // Use both; send them where they do not belong; then change the password.
    expect((await t.request('GET', '/api/v1/projects/alpha', { token: apiToken })).statusCode).toBe(200);
    expect((await send('GET', '/api/v1/audit', { token: apiToken })).statusCode).toBe(403);
    expect(
      (await send('POST', '/api/v1/projects', { token: session, body: { name: 'nope' } })).statusCode,
    ).toBe(403);
    const changed = await send('POST', '/api/v1/auth/password', {
      token: session,
      body: { currentPassword: password, newPassword },
    });
    expect(changed.statusCode).toBe(204);
    await send('POST', '/api/v1/auth/logout', { token: session });
    expect((await send('GET', '/api/v1/projects', { token: session })).statusCode).toBe(401);

    const all = await rows();
    expect(all.length).toBeGreaterThan(20);
    for (const r of all) {
      for (const [column, value] of Object.entries(r)) {
        for (const secret of secrets) {
          if (String(value).includes(secret)) throw new Error(`seq ${r.seq} column ${column} holds a secret`);
        }
        // Not even a distinctive part of one.
        for (const secret of secrets) expect(String(value)).not.toContain(secret.slice(-16));
      }
    }
    // And the chain still verifies after all of it.
    expect(await verifyAuditChain(t.svc.store)).toMatchObject({ ok: true });
  });
});
