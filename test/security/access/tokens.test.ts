import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/security/secrets/secrets.js';
import { ADMIN_PASSWORD, createTestContext, type TestContext } from '../../support/app.js';
import { DIALECTS } from '../../support/dialects.js';
import { auditText, createProject, errorCode, setMember } from '../auth/helpers.js';

const DAY = 86_400_000;
const TOKEN_SHAPE = /^falaj_[A-Za-z0-9_-]{43}$/;

type Created = { id: string; name: string; project: string; role: string; expiresAt: string; token: string };
type Listed = {
  id: string;
  name: string;
  owner: string;
  role: string;
  status: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
};

describe.each(DIALECTS)('API tokens on %s', (dialect) => {
  let t: TestContext;
  let alice: string; // maintainer of fraud
  let bob: string; // viewer of fraud
  let created: Created;
  const issued: string[] = [];
  beforeAll(async () => {
    t = await createTestContext(dialect);
    await createProject(t, 'fraud');
    await createProject(t, 'churn');
    alice = await t.userWithSession('alice');
    bob = await t.userWithSession('bob');
    await setMember(t, 'fraud', 'alice', 'maintainer');
    await setMember(t, 'churn', 'alice', 'viewer');
    await setMember(t, 'fraud', 'bob', 'viewer');
  });
  afterAll(async () => t?.close());

  const mint = async (session: string, project: string, body: Record<string, unknown>) =>
    t.request('POST', `/api/v1/projects/${project}/tokens`, { token: session, body });
  const mintOk = async (
    session: string,
    project: string,
    body: Record<string, unknown>,
  ): Promise<Created> => {
    const res = await mint(session, project, body);
    expect(res.statusCode, res.body).toBe(201);
    const c = res.json() as Created;
    issued.push(c.token);
    return c;
  };
  const roleVia = async (token: string, project = 'fraud') =>
    t.request('GET', `/api/v1/projects/${project}`, { token });

  it('is shown once, prefixed falaj_ with 256 random bits, and stored only as its SHA-256', async () => {
    created = await mintOk(alice, 'fraud', { name: 'ci-training', role: 'editor' });
    expect(created.token).toMatch(TOKEN_SHAPE);
    expect(Buffer.from(created.token.slice('falaj_'.length), 'base64url')).toHaveLength(32);
    expect(created).toMatchObject({ name: 'ci-training', project: 'fraud', role: 'editor' });
    expect(Date.parse(created.expiresAt)).toBe(t.clock.now() + 90 * DAY);
    const rows = await t.svc.store.db.selectFrom('api_tokens').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(sha256Hex(created.token));
    expect(JSON.stringify(rows)).not.toContain(created.token.slice('falaj_'.length));
    const list = await t.request('GET', '/api/v1/projects/fraud/tokens', { token: alice });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(created.token);
    expect(list.body).not.toContain(rows[0]!.token_hash);
    expect(list.json().tokens).toEqual([
      expect.objectContaining({
        id: created.id,
        owner: 'alice',
        role: 'editor',
        status: 'active',
        lastUsedAt: null,
      }),
    ]);
    const other = await mintOk(alice, 'fraud', { name: 'second', role: 'viewer' });
    expect(other.token).not.toBe(created.token);
  });

  it('acts with min(token role, owner role) and records when it was last used', async () => {
    const res = await roleVia(created.token);
    expect(res.statusCode).toBe(200);
    expect(res.json().role).toBe('editor');
    const row = await t.svc.store.db
      .selectFrom('api_tokens')
      .select('last_used_at')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(row.last_used_at).toBe(t.clock.now());
    const list = (await t.request('GET', '/api/v1/tokens', { token: alice })).json().tokens as Listed[];
    expect(list.find((x) => x.id === created.id)?.lastUsedAt).toBe(new Date(t.clock.now()).toISOString());
    // An editor token cannot do an admin's work.
    const put = await t.request('PUT', '/api/v1/projects/fraud/members/bob', {
      token: created.token,
      body: { role: 'editor' },
    });
    expect(errorCode(put, 403)).toBe('FALAJ_FORBIDDEN');
  });

  it('cannot carry a role above its creator’s', async () => {
    const res = await mint(alice, 'fraud', { name: 'too-strong', role: 'admin' });
    expect(errorCode(res, 403)).toBe('FALAJ_ROLE_EXCEEDS_GRANTOR');
    expect(res.json().error.details).toEqual({ requested: 'admin', yours: 'maintainer' });
    expect(errorCode(await mint(bob, 'fraud', { name: 'x', role: 'editor' }), 403)).toBe(
      'FALAJ_ROLE_EXCEEDS_GRANTOR',
    );
    // A stranger to the project cannot mint at all, and cannot tell whether it exists.
    const carol = await t.userWithSession('carol');
    expect(errorCode(await mint(carol, 'fraud', { name: 'x', role: 'viewer' }), 403)).toBe('FALAJ_FORBIDDEN');
    expect(errorCode(await mint(carol, 'nope', { name: 'x', role: 'viewer' }), 403)).toBe('FALAJ_FORBIDDEN');
    // The owner may mint any role on any project, member or not.
    const owners = await mintOk(t.adminToken, 'churn', { name: 'owner-ci', role: 'admin' });
    expect((await roleVia(owners.token, 'churn')).json().role).toBe('admin');
  });

  it('is scoped to its project', async () => {
    // alice is a member of churn too, but this token is for fraud.
    expect(errorCode(await roleVia(created.token, 'churn'), 403)).toBe('FALAJ_FORBIDDEN');
    const list = (await t.request('GET', '/api/v1/projects', { token: created.token })).json().projects as {
      name: string;
    }[];
    expect(list.map((p) => p.name)).toEqual(['fraud']);
  });

  it('cannot mint tokens nor call session or owner routes', async () => {
    const calls = [
      ['POST', '/api/v1/projects/fraud/tokens', { name: 'child', role: 'viewer' }],
      ['GET', '/api/v1/tokens', undefined],
      ['GET', '/api/v1/users', undefined],
      ['POST', '/api/v1/projects', { name: 'sneaky' }],
      ['POST', '/api/v1/auth/password', { currentPassword: 'x', newPassword: 'y' }],
      ['POST', '/api/v1/auth/logout', undefined],
      ['POST', '/api/v1/auth/mfa/enroll', undefined],
      ['PUT', '/api/v1/settings/mfa', { required: false }],
    ] as const;
    for (const [method, url, body] of calls) {
      const res = await t.request(method, url, { token: created.token, body });
      expect(errorCode(res, 403), `${method} ${url}`).toBe('FALAJ_FORBIDDEN');
    }
    expect(await t.svc.store.db.selectFrom('api_tokens').select('id').execute()).toHaveLength(3);
  });

  it('follows its owner: demotion demotes it, never above its own role', async () => {
    await setMember(t, 'fraud', 'alice', 'viewer');
    expect((await roleVia(created.token)).json().role).toBe('viewer');
    await setMember(t, 'fraud', 'alice', 'admin');
    expect((await roleVia(created.token)).json().role).toBe('editor'); // never above its own role
    await setMember(t, 'fraud', 'alice', 'maintainer');
  });

  it('removing a member revokes their tokens for the project, and re-adding them does not revive them', async () => {
    await t.userWithSession('erin');
    const erin = await t.login('erin', 'erin-password-123');
    await setMember(t, 'fraud', 'erin', 'editor');
    const tok = await mintOk(erin, 'fraud', { name: 'erins', role: 'viewer' });
    expect((await roleVia(tok.token)).statusCode).toBe(200);
    const removed = await t.request('DELETE', '/api/v1/projects/fraud/members/erin', { token: t.adminToken });
    expect(removed.statusCode).toBe(204);
    expect(errorCode(await roleVia(tok.token), 401)).toBe('FALAJ_TOKEN_REVOKED');
    await setMember(t, 'fraud', 'erin', 'editor');
    expect(errorCode(await roleVia(tok.token), 401)).toBe('FALAJ_TOKEN_REVOKED');
  });

  it('lists: admins see every token of the project, others their own; /tokens spans projects', async () => {
    const bobs = await mintOk(bob, 'fraud', { name: 'bob-notebook', role: 'viewer' });
    const names = async (token: string, url = '/api/v1/projects/fraud/tokens') =>
      ((await t.request('GET', url, { token })).json().tokens as Listed[]).map((x) => x.name).sort();
    expect(await names(bob)).toEqual(['bob-notebook']);
    expect(await names(alice)).toEqual(['ci-training', 'second']);
    expect(await names(t.adminToken)).toEqual(['bob-notebook', 'ci-training', 'erins', 'second']);
    // A token of a viewer lists what its owner could.
    expect(await names(bobs.token)).toEqual(['bob-notebook']);
    const aliceChurn = await mintOk(alice, 'churn', { name: 'churn-viewer', role: 'viewer' });
    expect(await names(alice, '/api/v1/tokens')).toEqual(['churn-viewer', 'ci-training', 'second']);
    expect(aliceChurn.project).toBe('churn');
  });

  it('is revoked by its owner or a project admin, not by another member', async () => {
    const [bobs] = (await t.request('GET', '/api/v1/tokens', { token: bob })).json().tokens as Listed[];
    const aliceSecond = (
      (await t.request('GET', '/api/v1/tokens', { token: alice })).json().tokens as Listed[]
    ).find((x) => x.name === 'second')!;
    // bob cannot revoke alice's token, nor learn that it exists.
    const refused = await t.request('DELETE', `/api/v1/projects/fraud/tokens/${aliceSecond.id}`, {
      token: bob,
    });
    expect(errorCode(refused, 404)).toBe('FALAJ_NOT_FOUND');
    // A token of the wrong project is not found either.
    expect(
      errorCode(
        await t.request('DELETE', `/api/v1/projects/churn/tokens/${aliceSecond.id}`, { token: alice }),
        404,
      ),
    ).toBe('FALAJ_NOT_FOUND');
    expect(
      (await t.request('DELETE', `/api/v1/projects/fraud/tokens/${bobs!.id}`, { token: bob })).statusCode,
    ).toBe(204);
    expect(
      (await t.request('DELETE', `/api/v1/projects/fraud/tokens/${aliceSecond.id}`, { token: t.adminToken }))
        .statusCode,
    ).toBe(204);
    // Revoking again changes nothing and is not an error.
    expect(
      (await t.request('DELETE', `/api/v1/projects/fraud/tokens/${aliceSecond.id}`, { token: alice }))
        .statusCode,
    ).toBe(204);
    const listed = (await t.request('GET', '/api/v1/tokens', { token: alice })).json().tokens as Listed[];
    expect(listed.find((x) => x.id === aliceSecond.id)).toMatchObject({ status: 'revoked' });
  });

  it('a revoked token is refused with FALAJ_TOKEN_REVOKED', async () => {
    const tok = await mintOk(alice, 'fraud', { name: 'short-lived', role: 'viewer' });
    expect((await roleVia(tok.token)).statusCode).toBe(200);
    expect(
      (await t.request('DELETE', `/api/v1/projects/fraud/tokens/${tok.id}`, { token: alice })).statusCode,
    ).toBe(204);
    expect(errorCode(await roleVia(tok.token), 401)).toBe('FALAJ_TOKEN_REVOKED');
  });

  it('a garbage or unknown token is 401', async () => {
    for (const bad of [
      'falaj_garbage',
      `falaj_${'A'.repeat(43)}`,
      created.token.slice(0, -1),
      `${created.token}x`,
      'nonsense',
      sha256Hex(created.token),
    ]) {
      expect(errorCode(await roleVia(bad), 401), bad).toBe('FALAJ_UNAUTHENTICATED');
    }
  });

  it("a disabled user's tokens are refused", async () => {
    const dave = await t.userWithSession('dave');
    await setMember(t, 'fraud', 'dave', 'editor');
    const tok = await mintOk(dave, 'fraud', { name: 'daves', role: 'editor' });
    const res = await t.request('PATCH', '/api/v1/users/dave', {
      token: t.adminToken,
      body: { disabled: true },
    });
    expect(res.statusCode).toBe(200);
    expect(errorCode(await roleVia(tok.token), 403)).toBe('FALAJ_ACCOUNT_DISABLED');
  });

  it('no token ever reaches the audit log; creation and revocation are recorded', async () => {
    const text = await auditText(t);
    for (const tok of issued) {
      expect(text).not.toContain(tok);
      expect(text).not.toContain(sha256Hex(tok));
    }
    const actions = (await t.svc.store.db.selectFrom('audit_events').select('action').execute()).map(
      (r) => r.action,
    );
    expect(actions).toContain('token.create');
    expect(actions).toContain('token.revoke');
  });

  it('expires: 90 days by default, 1 to 365 on request, never without an end (last: moves the clock)', async () => {
    const day = await mintOk(alice, 'fraud', { name: 'one-day', role: 'viewer', expiresInDays: 1 });
    const year = await mintOk(alice, 'fraud', { name: 'one-year', role: 'viewer', expiresInDays: 365 });
    expect(Date.parse(year.expiresAt)).toBe(t.clock.now() + 365 * DAY);
    for (const expiresInDays of [0, 366, -1, 1.5, null]) {
      const res = await mint(alice, 'fraud', { name: 'bad', role: 'viewer', expiresInDays });
      expect(errorCode(res, 400), String(expiresInDays)).toBe('FALAJ_VALIDATION');
    }
    t.clock.advance(DAY - 1);
    expect((await roleVia(day.token)).statusCode).toBe(200);
    t.clock.advance(1);
    expect(errorCode(await roleVia(day.token), 401)).toBe('FALAJ_TOKEN_EXPIRED');
    expect((await roleVia(year.token)).statusCode).toBe(200);
    t.clock.advance(89 * DAY);
    expect(errorCode(await roleVia(created.token), 401)).toBe('FALAJ_TOKEN_EXPIRED');
    t.clock.advance(275 * DAY);
    expect(errorCode(await roleVia(year.token), 401)).toBe('FALAJ_TOKEN_EXPIRED');
    const admin = await t.login('admin', ADMIN_PASSWORD);
    const listed = (await t.request('GET', '/api/v1/projects/fraud/tokens', { token: admin })).json()
      .tokens as Listed[];
    expect(listed.find((x) => x.name === 'one-day')?.status).toBe('expired');
  });
});
