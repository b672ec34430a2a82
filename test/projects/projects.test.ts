import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../support/app.js';
import { DIALECTS } from '../support/dialects.js';

describe.each(DIALECTS)('projects and members on %s', (dialect) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(dialect);
  });
  afterAll(async () => t?.close());

  it('owner creates a project; a member sees it, a stranger does not', async () => {
    const created = await t.request('POST', '/api/v1/projects', {
      token: t.adminToken,
      body: { name: 'fraud', description: 'card fraud' },
    });
    expect(created.statusCode).toBe(201);
    const alice = await t.userWithSession('alice');
    const bob = await t.userWithSession('bob');
    expect(
      (
        await t.request('PUT', '/api/v1/projects/fraud/members/alice', {
          token: t.adminToken,
          body: { role: 'editor' },
        })
      ).statusCode,
    ).toBe(200);

    const aliceList = (await t.request('GET', '/api/v1/projects', { token: alice })).json() as {
      projects: { name: string; role: string }[];
    };
    expect(aliceList.projects).toEqual([expect.objectContaining({ name: 'fraud', role: 'editor' })]);
    const bobList = (await t.request('GET', '/api/v1/projects', { token: bob })).json() as {
      projects: unknown[];
    };
    expect(bobList.projects).toEqual([]);
    // A stranger cannot tell an existing project from a missing one.
    expect((await t.request('GET', '/api/v1/projects/fraud', { token: bob })).statusCode).toBe(403);
    expect((await t.request('GET', '/api/v1/projects/nope', { token: bob })).statusCode).toBe(403);
    expect((await t.request('GET', '/api/v1/projects/nope', { token: t.adminToken })).statusCode).toBe(404);
  });

  it('an editor cannot manage members; duplicate project names conflict', async () => {
    const alice = await t.login('alice', 'alice-password-123');
    const res = await t.request('PUT', '/api/v1/projects/fraud/members/bob', {
      token: alice,
      body: { role: 'viewer' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('FALAJ_FORBIDDEN');
    const dup = await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name: 'fraud' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('FALAJ_CONFLICT');
  });

  it('rejects bad input with stable codes and changes nothing', async () => {
    const before = await t.svc.store.db.selectFrom('projects').select('name').execute();
    const bad = [
      await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name: 'Bad Name!' } }),
      await t.request('POST', '/api/v1/projects', {
        token: t.adminToken,
        body: { name: 'ok-name', extra: 1 },
      }),
      await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name: 42 } }),
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/projects',
        headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
        payload: '{"name": ',
      }),
    ];
    expect(bad.map((r) => r.json().error.code)).toEqual([
      'FALAJ_VALIDATION',
      'FALAJ_VALIDATION',
      'FALAJ_VALIDATION',
      'FALAJ_MALFORMED_JSON',
    ]);
    const big = await t.app.inject({
      method: 'POST',
      url: '/api/v1/projects',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'big', description: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('FALAJ_PAYLOAD_TOO_LARGE');
    const after = await t.svc.store.db.selectFrom('projects').select('name').execute();
    expect(after).toEqual(before);
  });
});
