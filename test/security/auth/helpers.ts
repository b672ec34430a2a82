import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { totpAt } from '../../../src/security/auth/totp.js';
import type { TestContext } from '../../support/app.js';

export const passwordOf = (username: string) => `${username}-password-123`;

/** The error code of a response, asserting its status on the way. */
export function errorCode(res: LightMyRequestResponse, status: number): string {
  expect(res.statusCode, res.body).toBe(status);
  return (res.json() as { error: { code: string } }).error.code;
}

export async function createProject(t: TestContext, name: string): Promise<void> {
  const res = await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name } });
  expect(res.statusCode, res.body).toBe(201);
}

export async function setMember(
  t: TestContext,
  project: string,
  username: string,
  role: string,
): Promise<void> {
  const res = await t.request('PUT', `/api/v1/projects/${project}/members/${username}`, {
    token: t.adminToken,
    body: { role },
  });
  expect(res.statusCode, res.body).toBe(200);
}

/** Enrols (with the user's password) and activates MFA at the current clock; returns the secret and codes. */
export async function enableMfa(
  t: TestContext,
  session: string,
  password: string,
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const enrol = await t.request('POST', '/api/v1/auth/mfa/enroll', { token: session, body: { password } });
  expect(enrol.statusCode, enrol.body).toBe(200);
  const { secret } = enrol.json() as { secret: string };
  const act = await t.request('POST', '/api/v1/auth/mfa/activate', {
    token: session,
    body: { code: totpAt(secret, t.clock.now()) },
  });
  expect(act.statusCode, act.body).toBe(200);
  return { secret, recoveryCodes: (act.json() as { recoveryCodes: string[] }).recoveryCodes };
}

const STATE_TABLES = [
  'users',
  'recovery_codes',
  'login_attempts',
  'sessions',
  'projects',
  'memberships',
  'api_tokens',
  'settings',
] as const;

/** Every row of the tables a security request could change (the audit chain aside), in a stable order. */
export async function snapshot(t: TestContext): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of STATE_TABLES) {
    const rows = await t.svc.store.db.selectFrom(table).selectAll().execute();
    out[table] = rows
      .map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)))
      .sort();
  }
  return out;
}

/** Every audit event's details, as one string: secrets must never be found in it. */
export async function auditText(t: TestContext): Promise<string> {
  const rows = await t.svc.store.db.selectFrom('audit_events').selectAll().execute();
  return JSON.stringify(rows);
}
