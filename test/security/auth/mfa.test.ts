import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashRecoveryCode } from '../../../src/security/auth/second-factor.js';
import { totpAt } from '../../../src/security/auth/totp.js';
import { createTestContext, type TestContext } from '../../support/app.js';
import { DIALECTS } from '../../support/dialects.js';
import { auditText, enableMfa, errorCode, passwordOf } from './helpers.js';

const STEP = 30_000;

describe.each(DIALECTS)('TOTP MFA on %s', (dialect) => {
  let t: TestContext;
  let alice: string;
  let secret: string;
  let recoveryCodes: string[];
  const shown: string[] = []; // every secret and code the server showed: none may reach the audit log
  beforeAll(async () => {
    t = await createTestContext(dialect);
    t.clock.advance(10_000); // mid-step, so that ±1 step is unambiguous
    alice = await t.userWithSession('alice');
  });
  afterAll(async () => t?.close());

  const login = (body: Record<string, string>) =>
    t.request('POST', '/api/v1/auth/login', {
      body: { username: 'alice', password: passwordOf('alice'), ...body },
    });
  const user = () =>
    t.svc.store.db.selectFrom('users').selectAll().where('username', '=', 'alice').executeTakeFirstOrThrow();

  const enrol = (body?: Record<string, string>) =>
    t.request('POST', '/api/v1/auth/mfa/enroll', { token: alice, body });

  it('enrolment needs the password again; a wrong one is a counted guess and enrols nothing', async () => {
    expect(errorCode(await enrol(), 400)).toBe('FALAJ_VALIDATION');
    expect(errorCode(await enrol({ password: 'not-her-password' }), 401)).toBe('FALAJ_INVALID_CREDENTIALS');
    expect((await user()).mfa_secret).toBeNull();
    // Counted under the login throttle, like every password guess.
    const counted = await t.svc.store.db
      .selectFrom('login_attempts')
      .select(['source', 'failures'])
      .where('username', '=', 'alice')
      .orderBy('source')
      .execute();
    expect(counted).toEqual([
      { source: '*', failures: 1 },
      { source: '127.0.0.1', failures: 1 },
    ]);
    const rows = await t.svc.store.db
      .selectFrom('audit_events')
      .select(['action', 'status', 'details'])
      .where('action', '=', 'user.mfa.enroll')
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe(401);
  });

  it('enrolment gives a secret and an otpauth URI; the secret is stored sealed, MFA still off', async () => {
    const res = await enrol({ password: passwordOf('alice') });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { secret: string; otpauthUri: string };
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(body.otpauthUri).toMatch(/^otpauth:\/\/totp\/Falaj:alice\?/);
    expect(new URL(body.otpauthUri).searchParams.get('secret')).toBe(body.secret);
    secret = body.secret;
    shown.push(secret);
    const row = await user();
    expect(row.mfa_enabled).toBe(0);
    expect(row.mfa_secret).toMatch(/^v\d+:/);
    expect(row.mfa_secret).not.toContain(secret);
    expect(row.mfa_secret).not.toContain(secret.toLowerCase());
    expect(Buffer.from(row.mfa_secret!.split(':')[1]!, 'base64').toString('latin1')).not.toContain(secret);
    // Not active yet: logging in needs no code.
    expect((await login({})).statusCode).toBe(200);
  });

  it('activation needs a right code; then MFA is on and 10 recovery codes come back once', async () => {
    const wrong = await t.request('POST', '/api/v1/auth/mfa/activate', {
      token: alice,
      body: { code: '000000' },
    });
    expect(errorCode(wrong, 401)).toBe('FALAJ_TOTP_INVALID');
    expect((await user()).mfa_enabled).toBe(0);

    const code = totpAt(secret, t.clock.now());
    shown.push(code);
    const res = await t.request('POST', '/api/v1/auth/mfa/activate', { token: alice, body: { code } });
    expect(res.statusCode).toBe(200);
    recoveryCodes = (res.json() as { recoveryCodes: string[] }).recoveryCodes;
    shown.push(...recoveryCodes);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const row = await user();
    expect(row.mfa_enabled).toBe(1);
    expect(row.mfa_last_step).toBe(Math.floor(t.clock.now() / STEP));
    const stored = await t.svc.store.db
      .selectFrom('recovery_codes')
      .select(['code_hash', 'used_at'])
      .where('user_id', '=', row.id)
      .execute();
    expect(stored.map((r) => r.code_hash).sort()).toEqual(recoveryCodes.map(hashRecoveryCode).sort());
    expect(JSON.stringify(stored)).not.toContain(recoveryCodes[0]!);

    expect(errorCode(await enrol({ password: passwordOf('alice') }), 409)).toBe('FALAJ_MFA_STATE');
    expect(
      errorCode(await t.request('POST', '/api/v1/auth/mfa/activate', { token: alice, body: { code } }), 409),
    ).toBe('FALAJ_MFA_STATE');
  });

  it('login now needs a code; the activation code cannot be used again', async () => {
    expect(errorCode(await login({}), 401)).toBe('FALAJ_TOTP_REQUIRED');
    expect(errorCode(await login({ totp: totpAt(secret, t.clock.now()) }), 401)).toBe('FALAJ_TOTP_REPLAYED');
    expect(errorCode(await login({ totp: '123456' }), 401)).toBe('FALAJ_TOTP_INVALID');
    expect(errorCode(await login({ password: 'wrong-password', totp: '123456' }), 401)).toBe(
      'FALAJ_INVALID_CREDENTIALS',
    );
  });

  it('accepts a code one step early or late, refuses two steps, and refuses a code twice', async () => {
    t.clock.advance(10 * STEP);
    let now = t.clock.now();
    const early = await login({ totp: totpAt(secret, now - STEP) });
    expect(early.statusCode).toBe(200);
    const late = await login({ totp: totpAt(secret, now + STEP) });
    expect(late.statusCode).toBe(200);
    // The step moved forward to now + 1: the current code is now older than the last accepted one.
    expect(errorCode(await login({ totp: totpAt(secret, now) }), 401)).toBe('FALAJ_TOTP_REPLAYED');

    t.clock.advance(10 * STEP);
    now = t.clock.now();
    expect(errorCode(await login({ totp: totpAt(secret, now - 2 * STEP) }), 401)).toBe('FALAJ_TOTP_INVALID');
    expect(errorCode(await login({ totp: totpAt(secret, now + 2 * STEP) }), 401)).toBe('FALAJ_TOTP_INVALID');
    const code = totpAt(secret, now);
    expect((await login({ totp: code })).statusCode).toBe(200);
    const replay = await login({ totp: code });
    expect(errorCode(replay, 401)).toBe('FALAJ_TOTP_REPLAYED');
    // A lost race is a replay too: two requests with one code are never both accepted.
    t.clock.advance(STEP);
    const next = totpAt(secret, t.clock.now());
    const raced = await Promise.all([login({ totp: next }), login({ totp: next })]);
    expect(raced.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });

  it('a recovery code logs in once, whatever its dashes or case', async () => {
    const [first, second] = recoveryCodes;
    expect((await login({ recoveryCode: first! })).statusCode).toBe(200);
    expect(errorCode(await login({ recoveryCode: first! }), 401)).toBe('FALAJ_TOTP_INVALID');
    expect((await login({ recoveryCode: second!.toUpperCase().replaceAll('-', '') })).statusCode).toBe(200);
    expect(errorCode(await login({ recoveryCode: 'aaaa-bbbb-cccc-dddd' }), 401)).toBe('FALAJ_TOTP_INVALID');
  });

  it('recovery codes can be regenerated with a current code; the old ones stop working', async () => {
    t.clock.advance(STEP);
    const wrong = await t.request('POST', '/api/v1/auth/mfa/recovery-codes', {
      token: alice,
      body: { code: '000000' },
    });
    expect(errorCode(wrong, 401)).toBe('FALAJ_TOTP_INVALID');
    const res = await t.request('POST', '/api/v1/auth/mfa/recovery-codes', {
      token: alice,
      body: { code: totpAt(secret, t.clock.now()) },
    });
    expect(res.statusCode).toBe(200);
    const fresh = (res.json() as { recoveryCodes: string[] }).recoveryCodes;
    shown.push(...fresh);
    expect(fresh).toHaveLength(10);
    expect(errorCode(await login({ recoveryCode: recoveryCodes[2]! }), 401)).toBe('FALAJ_TOTP_INVALID');
    expect((await login({ recoveryCode: fresh[0]! })).statusCode).toBe(200);
    recoveryCodes = fresh;
  });

  it('wrong codes through a session are throttled, apart from the login throttle', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await t.request('POST', '/api/v1/auth/mfa/recovery-codes', {
        token: alice,
        body: { code: '000000' },
      });
      expect(errorCode(res, 401)).toBe('FALAJ_TOTP_INVALID');
    }
    const slowed = await t.request('POST', '/api/v1/auth/mfa/recovery-codes', {
      token: alice,
      body: { code: totpAt(secret, t.clock.now() + STEP) },
    });
    expect(errorCode(slowed, 429)).toBe('FALAJ_LOGIN_THROTTLED');
    expect(slowed.headers['retry-after']).toBe('1');
    // Logging in is not slowed by it.
    t.clock.advance(STEP);
    expect((await login({ totp: totpAt(secret, t.clock.now()) })).statusCode).toBe(200);
    // Once the wait is over a right code works, and clears the count.
    t.clock.advance(STEP);
    const ok = await t.request('POST', '/api/v1/auth/mfa/recovery-codes', {
      token: alice,
      body: { code: totpAt(secret, t.clock.now()) },
    });
    expect(ok.statusCode).toBe(200);
    recoveryCodes = (ok.json() as { recoveryCodes: string[] }).recoveryCodes;
    shown.push(...recoveryCodes);
    expect(
      await t.svc.store.db
        .selectFrom('login_attempts')
        .select('username')
        .where('username', '=', 'mfa:alice')
        .execute(),
    ).toEqual([]);
  });

  it('turning MFA off needs the password and a second factor', async () => {
    t.clock.advance(STEP);
    const disable = (body: Record<string, string>) =>
      t.request('POST', '/api/v1/auth/mfa/disable', { token: alice, body });
    expect(
      errorCode(await disable({ password: 'wrong-password', code: totpAt(secret, t.clock.now()) }), 401),
    ).toBe('FALAJ_INVALID_CREDENTIALS');
    expect(errorCode(await disable({ password: passwordOf('alice') }), 401)).toBe('FALAJ_TOTP_REQUIRED');
    expect(errorCode(await disable({ password: passwordOf('alice'), code: '000000' }), 401)).toBe(
      'FALAJ_TOTP_INVALID',
    );
    expect((await user()).mfa_enabled).toBe(1);
    const ok = await disable({ password: passwordOf('alice'), recoveryCode: recoveryCodes[1]! });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().mfaEnabled).toBe(false);
    const row = await user();
    expect([row.mfa_enabled, row.mfa_secret, row.mfa_last_step]).toEqual([0, null, null]);
    expect(
      await t.svc.store.db.selectFrom('recovery_codes').select('id').where('user_id', '=', row.id).execute(),
    ).toEqual([]);
    expect((await login({})).statusCode).toBe(200);
    expect(errorCode(await disable({ password: passwordOf('alice') }), 409)).toBe('FALAJ_MFA_STATE');
    expect(
      errorCode(
        await t.request('POST', '/api/v1/auth/mfa/recovery-codes', { token: alice, body: { code: '1' } }),
        409,
      ),
    ).toBe('FALAJ_MFA_STATE');
  });

  it('the owner resets a lost device: MFA off, recovery codes gone, the sessions ended', async () => {
    const bob = await t.userWithSession('bob');
    const { secret: bobSecret } = await enableMfa(t, bob, passwordOf('bob'));
    shown.push(bobSecret);
    expect(errorCode(await t.request('DELETE', '/api/v1/users/bob/mfa', { token: bob }), 403)).toBe(
      'FALAJ_FORBIDDEN',
    );
    const res = await t.request('DELETE', '/api/v1/users/bob/mfa', { token: t.adminToken });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ username: 'bob', mfaEnabled: false });
    expect(errorCode(await t.request('GET', '/api/v1/auth/me', { token: bob }), 401)).toBe(
      'FALAJ_UNAUTHENTICATED',
    );
    expect(await t.login('bob', passwordOf('bob'))).toMatch(/^falajs_/);
    expect(
      errorCode(await t.request('DELETE', '/api/v1/users/nobody/mfa', { token: t.adminToken }), 404),
    ).toBe('FALAJ_NOT_FOUND');
    // The owner's own session survives resetting their own MFA.
    expect((await t.request('DELETE', '/api/v1/users/admin/mfa', { token: t.adminToken })).statusCode).toBe(
      200,
    );
    expect((await t.request('GET', '/api/v1/auth/me', { token: t.adminToken })).statusCode).toBe(200);
  });

  it('API tokens cannot manage MFA', async () => {
    await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name: 'mfa-proj' } });
    const tok = await t.request('POST', '/api/v1/projects/mfa-proj/tokens', {
      token: t.adminToken,
      body: { name: 'ci', role: 'admin' },
    });
    const token = tok.json().token as string;
    for (const [method, url] of [
      ['POST', '/api/v1/auth/mfa/enroll'],
      ['POST', '/api/v1/auth/mfa/activate'],
      ['POST', '/api/v1/auth/mfa/disable'],
      ['POST', '/api/v1/auth/mfa/recovery-codes'],
      ['DELETE', '/api/v1/users/bob/mfa'],
      ['PUT', '/api/v1/settings/mfa'],
      ['GET', '/api/v1/settings'],
    ] as const) {
      const res = await t.request(method, url, {
        token,
        body: method === 'DELETE' || method === 'GET' ? undefined : {},
      });
      expect(errorCode(res, 403), `${method} ${url}`).toBe('FALAJ_FORBIDDEN');
    }
  });

  it('no secret, code or recovery code ever reaches the audit log', async () => {
    const text = await auditText(t);
    expect(shown.length).toBeGreaterThan(20);
    for (const s of shown) expect(text).not.toContain(s);
    const actions = (await t.svc.store.db.selectFrom('audit_events').select('action').execute()).map(
      (r) => r.action,
    );
    for (const a of [
      'user.mfa.enroll',
      'user.mfa.activate',
      'user.mfa.recovery-codes',
      'user.mfa.disable',
      'user.mfa.reset',
    ])
      expect(actions).toContain(a);
  });
});
