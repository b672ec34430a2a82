import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../support/app.js';
import { DIALECTS } from '../../support/dialects.js';
import { createProject, enableMfa, passwordOf, setMember, snapshot } from './helpers.js';

type Case = {
  name: string;
  method: 'POST' | 'PUT' | 'DELETE';
  url: string;
  payload?: string;
  as?: 'alice' | 'admin';
};

// Each bad request, its status and its stable code. Bodies are raw strings so that malformed
// JSON can be sent as it is.
const json = (v: unknown) => JSON.stringify(v);
const CASES: [Case, number, string][] = [
  // login
  [
    {
      name: 'login: wrong type',
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: json({ username: 1, password: 'x' }),
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'login: unknown field',
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: json({ username: 'alice', password: 'alice-password-123', admin: true }),
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'login: missing password',
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: json({ username: 'alice' }),
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'login: totp as a number',
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: json({ username: 'alice', password: 'alice-password-123', totp: 123456 }),
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'login: malformed JSON',
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: '{"username": "alice", ',
    },
    400,
    'FALAJ_MALFORMED_JSON',
  ],
  [
    { name: 'login: empty JSON body', method: 'POST', url: '/api/v1/auth/login', payload: '' },
    400,
    'FALAJ_MALFORMED_JSON',
  ],
  [
    { name: 'login: array body', method: 'POST', url: '/api/v1/auth/login', payload: '[]' },
    400,
    'FALAJ_VALIDATION',
  ],
  // MFA
  [
    {
      name: 'enrol: no password',
      method: 'POST',
      url: '/api/v1/auth/mfa/enroll',
      payload: '{}',
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'enrol: password as a number',
      method: 'POST',
      url: '/api/v1/auth/mfa/enroll',
      payload: json({ password: 12 }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'activate: code as a number',
      method: 'POST',
      url: '/api/v1/auth/mfa/activate',
      payload: json({ code: 123456 }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'activate: unknown field',
      method: 'POST',
      url: '/api/v1/auth/mfa/activate',
      payload: json({ code: '123456', secret: 'AAAA' }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'activate: malformed JSON',
      method: 'POST',
      url: '/api/v1/auth/mfa/activate',
      payload: '{"code":',
      as: 'alice',
    },
    400,
    'FALAJ_MALFORMED_JSON',
  ],
  [
    {
      name: 'disable: password as a boolean',
      method: 'POST',
      url: '/api/v1/auth/mfa/disable',
      payload: json({ password: true }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'disable: unknown field',
      method: 'POST',
      url: '/api/v1/auth/mfa/disable',
      payload: json({ password: 'alice-password-123', force: true }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'disable: oversized code',
      method: 'POST',
      url: '/api/v1/auth/mfa/disable',
      payload: json({ password: 'alice-password-123', code: '1'.repeat(17) }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'recovery-codes: missing code',
      method: 'POST',
      url: '/api/v1/auth/mfa/recovery-codes',
      payload: json({}),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'recovery-codes: code as an array',
      method: 'POST',
      url: '/api/v1/auth/mfa/recovery-codes',
      payload: json({ code: ['123456'] }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'require MFA: "true" as a string',
      method: 'PUT',
      url: '/api/v1/settings/mfa',
      payload: json({ required: 'true' }),
      as: 'admin',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'require MFA: unknown field',
      method: 'PUT',
      url: '/api/v1/settings/mfa',
      payload: json({ required: false, everyone: true }),
      as: 'admin',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'require MFA: malformed JSON',
      method: 'PUT',
      url: '/api/v1/settings/mfa',
      payload: '{required: true}',
      as: 'admin',
    },
    400,
    'FALAJ_MALFORMED_JSON',
  ],
  [
    {
      name: 'reset MFA: bad username',
      method: 'DELETE',
      url: '/api/v1/users/Not%20A%20User/mfa',
      as: 'admin',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    { name: 'reset MFA: unknown user', method: 'DELETE', url: '/api/v1/users/nobody/mfa', as: 'admin' },
    404,
    'FALAJ_NOT_FOUND',
  ],
  // tokens
  [
    {
      name: 'token: unknown role',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: json({ name: 'x', role: 'owner' }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'token: empty name',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: json({ name: '', role: 'viewer' }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'token: control character in name',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: json({ name: 'a\nb', role: 'viewer' }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'token: name too long',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: json({ name: 'x'.repeat(101), role: 'viewer' }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'token: days as a string',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: json({ name: 'x', role: 'viewer', expiresInDays: '30' }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'token: never-expiring',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: json({ name: 'x', role: 'viewer', expiresInDays: 0 }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'token: over a year',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: json({ name: 'x', role: 'viewer', expiresInDays: 366 }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'token: unknown field',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: json({ name: 'x', role: 'viewer', expiresAt: null }),
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'token: malformed JSON',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: '{"name":"x","role":"viewer"',
      as: 'alice',
    },
    400,
    'FALAJ_MALFORMED_JSON',
  ],
  [
    {
      name: 'token: role above the grantor',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: json({ name: 'x', role: 'admin' }),
      as: 'alice',
    },
    403,
    'FALAJ_ROLE_EXCEEDS_GRANTOR',
  ],
  [
    {
      name: 'token: oversized body',
      method: 'POST',
      url: '/api/v1/projects/fraud/tokens',
      payload: json({ name: 'x'.repeat(2 * 1024 * 1024), role: 'viewer' }),
      as: 'alice',
    },
    413,
    'FALAJ_PAYLOAD_TOO_LARGE',
  ],
  [
    {
      name: 'revoke: malformed id',
      method: 'DELETE',
      url: '/api/v1/projects/fraud/tokens/..%2F..%2Fusers',
      as: 'alice',
    },
    400,
    'FALAJ_VALIDATION',
  ],
  [
    {
      name: 'revoke: unknown id',
      method: 'DELETE',
      url: `/api/v1/projects/fraud/tokens/${'0'.repeat(32)}`,
      as: 'alice',
    },
    404,
    'FALAJ_NOT_FOUND',
  ],
  [
    {
      name: 'project with path traversal',
      method: 'POST',
      url: '/api/v1/projects/..%2Fchurn/tokens',
      payload: json({ name: 'x', role: 'viewer' }),
      as: 'alice',
    },
    403,
    'FALAJ_FORBIDDEN',
  ],
];

describe.each(DIALECTS)('bad input to the identity routes on %s', (dialect) => {
  let t: TestContext;
  let alice: string;
  beforeAll(async () => {
    t = await createTestContext(dialect);
    await createProject(t, 'fraud');
    alice = await t.userWithSession('alice');
    await setMember(t, 'fraud', 'alice', 'maintainer');
    // Some state for a bad request to damage: alice has MFA on and a token.
    t.clock.advance(10_000);
    await enableMfa(t, alice, passwordOf('alice'));
    const tok = await t.request('POST', '/api/v1/projects/fraud/tokens', {
      token: alice,
      body: { name: 'ci', role: 'viewer' },
    });
    expect(tok.statusCode).toBe(201);
  });
  afterAll(async () => t?.close());

  const send = (c: Case): Promise<LightMyRequestResponse> => {
    const token = c.as === 'alice' ? alice : c.as === 'admin' ? t.adminToken : undefined;
    return t.app.inject({
      method: c.method,
      url: c.url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(c.payload !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(c.payload !== undefined ? { payload: c.payload } : {}),
    });
  };

  it.each(CASES.map(([c, status, code]) => [c.name, c, status, code] as const))(
    '%s: %i %s, and nothing changes',
    async (_name, c, status, code) => {
      const before = await snapshot(t);
      const res = await send(c);
      expect(res.statusCode, `${c.name}: ${res.body}`).toBe(status);
      expect(res.json().error.code, c.name).toBe(code);
      expect(await snapshot(t), c.name).toEqual(before);
    },
  );

  it('a body that is not JSON is refused and changes nothing', async () => {
    for (const [type, status, code] of [
      ['application/x-www-form-urlencoded', 415, 'FALAJ_UNSUPPORTED_MEDIA_TYPE'],
      ['text/plain', 400, 'FALAJ_VALIDATION'], // read as a string, which is not the object the schema wants
    ] as const) {
      const before = await snapshot(t);
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/projects/fraud/tokens',
        headers: { authorization: `Bearer ${alice}`, 'content-type': type },
        payload: 'name=x&role=viewer',
      });
      expect(res.statusCode, type).toBe(status);
      expect(res.json().error.code, type).toBe(code);
      expect(await snapshot(t)).toEqual(before);
    }
  });

  it('every refused request is in the audit log, with no body', async () => {
    const rows = await t.svc.store.db
      .selectFrom('audit_events')
      .select(['status', 'details'])
      .where('status', '>=', 400)
      .execute();
    expect(rows.length).toBeGreaterThanOrEqual(CASES.filter(([c]) => c.method !== 'POST' || c.as).length);
    expect(JSON.stringify(rows)).not.toContain('alice-password-123');
  });
});
