import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestContext, type TestContext } from '../../support/app.js';
import { DIALECTS } from '../../support/dialects.js';
import { enableMfa, errorCode, passwordOf } from './helpers.js';

describe.each(DIALECTS)('require MFA for everyone on %s', (dialect) => {
  let t: TestContext;
  let carol: string;
  beforeAll(async () => {
    t = await createTestContext(dialect);
    carol = await t.userWithSession('carol');
  });
  afterAll(async () => t?.close());

  const setRequired = (required: unknown, token = t.adminToken) =>
    t.request('PUT', '/api/v1/settings/mfa', { token, body: { required } });

  it('is off by default; only the owner reads or changes it', async () => {
    const res = await t.request('GET', '/api/v1/settings', { token: t.adminToken });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ mfa: { required: false } });
    expect(errorCode(await t.request('GET', '/api/v1/settings', { token: carol }), 403)).toBe(
      'FALAJ_FORBIDDEN',
    );
    expect(errorCode(await setRequired(true, carol), 403)).toBe('FALAJ_FORBIDDEN');
    expect(errorCode(await t.request('GET', '/api/v1/settings'), 401)).toBe('FALAJ_UNAUTHENTICATED');
  });

  it('an owner without MFA cannot require it (they would lock themselves into enrolment)', async () => {
    expect(errorCode(await setRequired(true), 409)).toBe('FALAJ_MFA_STATE');
    expect(await t.svc.store.db.selectFrom('settings').selectAll().execute()).toEqual([]);
  });

  it('once required, an un-enrolled user can only enrol; after activation everything works again', async () => {
    t.clock.advance(10_000);
    await enableMfa(t, t.adminToken, ADMIN_PASSWORD);
    const on = await setRequired(true);
    expect(on.statusCode).toBe(200);
    expect(on.json()).toEqual({ required: true });
    expect((await t.request('GET', '/api/v1/settings', { token: t.adminToken })).json()).toEqual({
      mfa: { required: true },
    });
    // The owner, enrolled, carries on.
    expect((await t.request('GET', '/api/v1/users', { token: t.adminToken })).statusCode).toBe(200);

    // carol's existing session, and a new login, are confined to MFA set-up.
    for (const url of ['/api/v1/projects', '/api/v1/tokens']) {
      expect(errorCode(await t.request('GET', url, { token: carol }), 403), url).toBe('FALAJ_MFA_REQUIRED');
    }
    const login = await t.request('POST', '/api/v1/auth/login', {
      body: { username: 'carol', password: passwordOf('carol') },
    });
    expect(login.statusCode).toBe(200);
    expect(login.json().mfaEnrollmentRequired).toBe(true);
    const fresh = login.json().token as string;
    const me = await t.request('GET', '/api/v1/auth/me', { token: fresh });
    expect(me.statusCode).toBe(200);
    expect(me.json().mfaEnrollmentRequired).toBe(true);
    expect(errorCode(await t.request('GET', '/api/v1/projects', { token: fresh }), 403)).toBe(
      'FALAJ_MFA_REQUIRED',
    );

    await enableMfa(t, fresh, passwordOf('carol'));
    expect((await t.request('GET', '/api/v1/projects', { token: fresh })).statusCode).toBe(200);
    expect((await t.request('GET', '/api/v1/projects', { token: carol })).statusCode).toBe(200);
    expect((await t.request('GET', '/api/v1/auth/me', { token: fresh })).json().mfaEnrollmentRequired).toBe(
      false,
    );

    // An owner reset puts carol back into enrolment.
    expect((await t.request('DELETE', '/api/v1/users/carol/mfa', { token: t.adminToken })).statusCode).toBe(
      200,
    );
    const again = await t.login('carol', passwordOf('carol'));
    expect(errorCode(await t.request('GET', '/api/v1/projects', { token: again }), 403)).toBe(
      'FALAJ_MFA_REQUIRED',
    );

    // Turning it off frees her.
    t.clock.advance(30_000);
    const off = await setRequired(false);
    expect(off.statusCode).toBe(200);
    expect((await t.request('GET', '/api/v1/projects', { token: again })).statusCode).toBe(200);
    const rows = await t.svc.store.db.selectFrom('settings').selectAll().execute();
    expect(rows).toEqual([{ key: 'require_mfa', value: 'false' }]);
  });

  it('changes of the setting are audited with the old and new value', async () => {
    const rows = await t.svc.store.db
      .selectFrom('audit_events')
      .select(['details', 'outcome'])
      .where('action', '=', 'settings.mfa.update')
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => [r.outcome, JSON.parse(r.details)])).toEqual([
      ['success', { previous: false, required: true }],
      ['success', { previous: true, required: false }],
    ]);
  });
});
