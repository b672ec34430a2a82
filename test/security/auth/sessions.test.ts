import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/security/secrets/secrets.js';
import { createTestContext, type TestContext } from '../../support/app.js';
import { DIALECTS } from '../../support/dialects.js';
import { errorCode, passwordOf } from './helpers.js';

describe.each(DIALECTS)('sessions on %s', (dialect) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(dialect);
  });
  afterAll(async () => t?.close());

  const me = (token: string) => t.request('GET', '/api/v1/auth/me', { token });

  it('the store holds only the SHA-256 of a session token', async () => {
    const token = await t.userWithSession('alice');
    const rows = await t.svc.store.db.selectFrom('sessions').selectAll().execute();
    expect(rows.some((r) => r.token_hash === sha256Hex(token))).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('logout ends the session and only that one', async () => {
    const a = await t.login('alice', passwordOf('alice'));
    const b = await t.login('alice', passwordOf('alice'));
    const out = await t.request('POST', '/api/v1/auth/logout', { token: a });
    expect(out.statusCode).toBe(204);
    expect(errorCode(await me(a), 401)).toBe('FALAJ_UNAUTHENTICATED');
    expect((await me(b)).statusCode).toBe(200);
    expect(errorCode(await t.request('POST', '/api/v1/auth/logout', { token: a }), 401)).toBe(
      'FALAJ_UNAUTHENTICATED',
    );
  });

  it('changing the password ends the other sessions, keeps this one, and needs the current password', async () => {
    const mine = await t.userWithSession('bob');
    const other = await t.login('bob', passwordOf('bob'));
    const wrong = await t.request('POST', '/api/v1/auth/password', {
      token: mine,
      body: { currentPassword: 'not-the-password', newPassword: 'a-brand-new-password' },
    });
    expect(errorCode(wrong, 401)).toBe('FALAJ_INVALID_CREDENTIALS');
    expect((await me(other)).statusCode).toBe(200);
    const short = await t.request('POST', '/api/v1/auth/password', {
      token: mine,
      body: { currentPassword: passwordOf('bob'), newPassword: 'short' },
    });
    expect(errorCode(short, 400)).toBe('FALAJ_INVALID_ARGUMENT');
    expect((await me(other)).statusCode).toBe(200);

    const ok = await t.request('POST', '/api/v1/auth/password', {
      token: mine,
      body: { currentPassword: passwordOf('bob'), newPassword: 'a-brand-new-password' },
    });
    expect(ok.statusCode).toBe(204);
    expect(errorCode(await me(other), 401)).toBe('FALAJ_UNAUTHENTICATED');
    expect((await me(mine)).statusCode).toBe(200);
    const old = await t.request('POST', '/api/v1/auth/login', {
      body: { username: 'bob', password: passwordOf('bob') },
    });
    expect(errorCode(old, 401)).toBe('FALAJ_INVALID_CREDENTIALS');
    expect(await t.login('bob', 'a-brand-new-password')).toMatch(/^falajs_/);
  });

  it('guessing the current password through a session counts towards the login throttle', async () => {
    const token = await t.userWithSession('frank');
    for (let i = 0; i < 5; i++) {
      const res = await t.request('POST', '/api/v1/auth/password', {
        token,
        body: { currentPassword: `guess-${i}-password`, newPassword: 'a-brand-new-password' },
      });
      expect(errorCode(res, 401)).toBe('FALAJ_INVALID_CREDENTIALS');
    }
    const slowed = await t.request('POST', '/api/v1/auth/password', {
      token,
      body: { currentPassword: passwordOf('frank'), newPassword: 'a-brand-new-password' },
    });
    expect(errorCode(slowed, 429)).toBe('FALAJ_LOGIN_THROTTLED');
  });

  it("a disabled user's sessions stop working at once", async () => {
    const token = await t.userWithSession('carol');
    const res = await t.request('PATCH', '/api/v1/users/carol', {
      token: t.adminToken,
      body: { disabled: true },
    });
    expect(res.statusCode).toBe(200);
    expect((await me(token)).statusCode).toBe(401);
    // Even a session the disable did not revoke (written behind its back) is refused.
    await t.svc.store.db.updateTable('sessions').set({ revoked_at: null }).execute();
    expect(errorCode(await me(token), 403)).toBe('FALAJ_ACCOUNT_DISABLED');
  });

  it('malformed credentials are 401 with a stable code', async () => {
    for (const header of [
      'Bearer',
      'Basic YWRtaW46eA==',
      'Bearer falajs_nope',
      'Bearer nonsense',
      'Bearer a b',
    ]) {
      const res = await t.request('GET', '/api/v1/auth/me', { headers: { authorization: header } });
      expect(errorCode(res, 401)).toBe('FALAJ_UNAUTHENTICATED');
    }
    expect(errorCode(await t.request('GET', '/api/v1/auth/me'), 401)).toBe('FALAJ_UNAUTHENTICATED');
  });

  it('a session expires after its lifetime (last: it moves the clock past every session)', async () => {
    const token = await t.login('alice', passwordOf('alice'));
    t.clock.advance(t.svc.config.sessionTtlMs - 1);
    expect((await me(token)).statusCode).toBe(200);
    t.clock.advance(1);
    expect(errorCode(await me(token), 401)).toBe('FALAJ_TOKEN_EXPIRED');
  });
});
