import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_AFTER, LOCK_MS, SLOW_AFTER } from '../../../src/security/auth/login-throttle.js';
import { ADMIN_PASSWORD, createTestContext, type TestContext } from '../../support/app.js';
import { DIALECTS } from '../../support/dialects.js';
import { auditText, errorCode, passwordOf } from './helpers.js';

describe.each(DIALECTS)('login and its throttle on %s', (dialect) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(dialect);
    for (const name of ['alice', 'carol', 'dave']) await t.userWithSession(name);
  });
  afterAll(async () => t?.close());

  const attempt = (username: string, password: string) =>
    t.request('POST', '/api/v1/auth/login', { body: { username, password } });

  it('a correct password gives a session token; the session works', async () => {
    const res = await attempt('alice', passwordOf('alice'));
    expect(res.statusCode).toBe(200);
    const body = res.json() as { token: string; expiresAt: string; user: { username: string } };
    expect(body.token).toMatch(/^falajs_[A-Za-z0-9_-]{43}$/);
    expect(body.user.username).toBe('alice');
    expect(Date.parse(body.expiresAt)).toBe(t.clock.now() + t.svc.config.sessionTtlMs);
    const me = await t.request('GET', '/api/v1/auth/me', { token: body.token });
    expect(me.statusCode).toBe(200);
    expect(me.json().user.username).toBe('alice');
  });

  const counts = async (username: string) =>
    (
      await t.svc.store.db
        .selectFrom('login_attempts')
        .select(['source', 'failures', 'reserved_by'])
        .where('username', '=', username)
        .orderBy('source')
        .execute()
    ).map((r) => [r.source, r.failures, r.reserved_by]);

  it('counts every one of simultaneous failures, per address and for every address', async () => {
    const results = await Promise.all(
      Array.from({ length: SLOW_AFTER - 1 }, () => attempt('burst-target', 'wrong')),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(SLOW_AFTER - 1).fill(401));
    // inject() calls come from 127.0.0.1; '*' counts every address. No reservation is left.
    expect(await counts('burst-target')).toEqual([
      ['*', SLOW_AFTER - 1, null],
      ['127.0.0.1', SLOW_AFTER - 1, null],
    ]);
    await t.svc.store.db.deleteFrom('login_attempts').where('username', '=', 'burst-target').execute();
  });

  it('an unknown username and a wrong password answer alike (no account enumeration)', async () => {
    const unknown = await attempt('nobody-here', 'some-password-123');
    const wrong = await attempt('alice', 'not-her-password');
    expect(errorCode(unknown, 401)).toBe('FALAJ_INVALID_CREDENTIALS');
    expect(errorCode(wrong, 401)).toBe('FALAJ_INVALID_CREDENTIALS');
    expect(unknown.json().error.message).toBe(wrong.json().error.message);
    // Both count towards the throttle of the name tried, known or not.
    for (const name of ['alice', 'nobody-here'])
      expect(await counts(name)).toEqual([
        ['*', 1, null],
        ['127.0.0.1', 1, null],
      ]);
    // A success clears the counts.
    expect((await attempt('alice', passwordOf('alice'))).statusCode).toBe(200);
    expect(await counts('alice')).toEqual([]);
  });

  it(`after ${SLOW_AFTER} failures logins are slowed (429 + Retry-After), allowed again once the wait is over`, async () => {
    for (let i = 0; i < SLOW_AFTER; i++) {
      expect(errorCode(await attempt('carol', 'wrong-password'), 401)).toBe('FALAJ_INVALID_CREDENTIALS');
    }
    // Even the right password is refused while the wait runs: the throttle is checked first.
    const slowed = await attempt('carol', passwordOf('carol'));
    expect(errorCode(slowed, 429)).toBe('FALAJ_LOGIN_THROTTLED');
    expect(slowed.headers['retry-after']).toBe('1');
    expect(slowed.json().error.details).toEqual({ retryAfterSeconds: 1 });
    t.clock.advance(1000);
    expect((await attempt('carol', passwordOf('carol'))).statusCode).toBe(200);
  });

  it('the wait doubles with each failure; the same path slows an unknown username', async () => {
    for (let i = 0; i < SLOW_AFTER; i++) await attempt('ghost', 'wrong-password');
    t.clock.advance(1000);
    expect(errorCode(await attempt('ghost', 'wrong-password'), 401)).toBe('FALAJ_INVALID_CREDENTIALS');
    const slowed = await attempt('ghost', 'wrong-password');
    expect(errorCode(slowed, 429)).toBe('FALAJ_LOGIN_THROTTLED');
    expect(slowed.headers['retry-after']).toBe('2');
  });

  it(`locks (user, address) (423) after ${LOCK_AFTER} failures, even for the right password, until the lock ends`, async () => {
    let wait = 0;
    for (let failures = 0; failures < LOCK_AFTER; failures++) {
      t.clock.advance(wait);
      expect(errorCode(await attempt('dave', 'wrong-password'), 401)).toBe('FALAJ_INVALID_CREDENTIALS');
      wait = failures + 1 >= SLOW_AFTER ? 1000 * 2 ** (failures + 1 - SLOW_AFTER) : 0;
    }
    const locked = await attempt('dave', passwordOf('dave'));
    expect(errorCode(locked, 423)).toBe('FALAJ_ACCOUNT_LOCKED');
    expect(Date.parse(locked.json().error.details.lockedUntil)).toBe(t.clock.now() + LOCK_MS);
    t.clock.advance(LOCK_MS - 1000);
    expect(errorCode(await attempt('dave', passwordOf('dave')), 423)).toBe('FALAJ_ACCOUNT_LOCKED');
    t.clock.advance(1000);
    expect((await attempt('dave', passwordOf('dave'))).statusCode).toBe(200);
  });

  it('a disabled account cannot log in; its password is checked first so nothing leaks', async () => {
    await t.userWithSession('erin');
    const res = await t.request('PATCH', '/api/v1/users/erin', {
      token: t.adminToken,
      body: { disabled: true },
    });
    expect(res.statusCode).toBe(200);
    expect(errorCode(await attempt('erin', 'wrong-password'), 401)).toBe('FALAJ_INVALID_CREDENTIALS');
    expect(errorCode(await attempt('erin', passwordOf('erin')), 403)).toBe('FALAJ_ACCOUNT_DISABLED');
  });

  it('failed and successful logins are audited, without any password', async () => {
    const rows = await t.svc.store.db
      .selectFrom('audit_events')
      .select(['action', 'outcome', 'status', 'details'])
      .where('action', '=', 'auth.login')
      .execute();
    expect(rows.some((r) => r.outcome === 'success')).toBe(true);
    expect(rows.some((r) => r.status === 401 && r.details.includes('FALAJ_INVALID_CREDENTIALS'))).toBe(true);
    expect(rows.some((r) => r.status === 429)).toBe(true);
    expect(rows.some((r) => r.status === 423)).toBe(true);
    const text = await auditText(t);
    for (const secret of [ADMIN_PASSWORD, passwordOf('alice'), 'wrong-password', 'not-her-password']) {
      expect(text).not.toContain(secret);
    }
  });
});
