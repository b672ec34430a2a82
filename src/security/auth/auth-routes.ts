import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../../core/errors.js';
import { audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import { newSecretToken, SESSION_TOKEN_PREFIX, sha256Hex } from '../secrets/secrets.js';
import { readRequireMfa } from './identity.js';
import type { Outcome } from './login-throttle.js';
import { burnPasswordCheck, verifyPassword } from './passwords.js';
import { checkSecondFactor, secondFactorRefusal } from './second-factor.js';
import { endSession, openSession } from './sessions.js';
import { refuseAttempt, requirePassword, throttledAttempt } from './throttled-checks.js';
import { findUser, requireUser, setPassword, toView, userMemberships } from './users.js';

export const UserSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  owner: Type.Boolean(),
  disabled: Type.Boolean(),
  mfaEnabled: Type.Boolean(),
  createdAt: Type.String(),
});

type LoginCheck =
  | { user: NonNullable<Awaited<ReturnType<typeof findUser>>> }
  | { refused: FalajError; outcome: Outcome };

/**
 * The password, then the account state, then the second factor: nothing about the account is
 * told before the password is right. An unknown username costs a hash all the same.
 */
async function checkLogin(
  svc: Services,
  body: { username: string; password: string; totp?: string | undefined; recoveryCode?: string | undefined },
): Promise<LoginCheck> {
  const user = await findUser(svc.store.db, body.username);
  const wrong = {
    refused: new FalajError('FALAJ_INVALID_CREDENTIALS', 'wrong username or password'),
    outcome: 'failure',
  } as const;
  if (!user) {
    await burnPasswordCheck(body.password);
    return wrong;
  }
  if (!(await verifyPassword(user.password_hash, body.password))) return wrong;
  if (user.disabled)
    return { refused: new FalajError('FALAJ_ACCOUNT_DISABLED', 'account is disabled'), outcome: 'failure' };
  if (!user.mfa_enabled) return { user };
  const second = await svc.store.db
    .transaction()
    .execute((tx) => checkSecondFactor(tx, svc.clock, svc.keyring, user, body));
  if (second === 'ok') return { user };
  const { error, outcome } = secondFactorRefusal(second);
  return { refused: error, outcome };
}

export async function authRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store, clock } = svc;

  app.post(
    '/api/v1/auth/login',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        summary:
          'Log in with a password (and a TOTP or recovery code when MFA is on); returns a session token',
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 64 }),
            password: Type.String({ minLength: 1, maxLength: 1024 }),
            totp: Type.Optional(Type.String({ maxLength: 16 })),
            recoveryCode: Type.Optional(Type.String({ maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            token: Type.String(),
            expiresAt: Type.String(),
            user: UserSchema,
            mfaEnrollmentRequired: Type.Boolean(),
          }),
        },
      },
    },
    async (req) => {
      const facts = { action: 'auth.login', objectType: 'user', objectId: req.body.username };
      const u = await throttledAttempt(svc, req, facts, req.body.username, async (attempt) => {
        const checked = await checkLogin(svc, req.body);
        if ('refused' in checked)
          throw await refuseAttempt(svc, req, facts, attempt, checked.outcome, checked.refused);
        await attempt.finish(store.db, 'success');
        return checked.user;
      });
      const token = newSecretToken(SESSION_TOKEN_PREFIX);
      const now = clock.now();
      const expiresAt = now + svc.config.sessionTtlMs;
      const mfaEnrollmentRequired = !u.mfa_enabled && (await readRequireMfa(store.db));
      await audited(svc, req, async (tx) => {
        const id = await openSession(tx, { tokenHash: sha256Hex(token), userId: u.id, now, expiresAt });
        return { result: id, audit: { ...facts, actor: `user:${u.username}`, details: { session: id } } };
      });
      return { token, expiresAt: new Date(expiresAt).toISOString(), user: toView(u), mfaEnrollmentRequired };
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      config: { permission: 'mfa-setup' },
      schema: { tags: ['auth'], summary: 'End the current session', response: { 204: Type.Null() } },
    },
    async (req, reply) => {
      const sessionId = req.identity!.sessionId!;
      await audited(svc, req, async (tx) => {
        await endSession(tx, sessionId, clock.now());
        return { result: null, audit: { action: 'auth.logout', objectType: 'session', objectId: sessionId } };
      });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/auth/me',
    {
      config: { permission: 'mfa-setup' },
      schema: {
        tags: ['auth'],
        summary: 'The calling identity',
        response: {
          200: Type.Object({
            user: UserSchema,
            kind: Type.Union([Type.Literal('session'), Type.Literal('token')]),
            mfaEnrollmentRequired: Type.Boolean(),
            memberships: Type.Array(Type.Object({ project: Type.String(), role: Type.String() })),
          }),
        },
      },
    },
    async (req) => {
      const id = req.identity!;
      const user = await requireUser(store.db, id.username);
      const memberships = await userMemberships(store.db, id.userId);
      // 'mfa-setup' refuses agent tokens (access.ts), so a user is behind every caller here.
      const kind = id.kind as 'session' | 'token';
      return { user: toView(user), kind, mfaEnrollmentRequired: id.mfaPending, memberships };
    },
  );

  app.post(
    '/api/v1/auth/password',
    {
      config: { permission: 'mfa-setup' },
      schema: {
        tags: ['auth'],
        summary: 'Change your own password (ends your other sessions)',
        body: Type.Object(
          {
            currentPassword: Type.String({ maxLength: 1024 }),
            newPassword: Type.String({ maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const id = req.identity!;
      const facts = { action: 'user.password.change', objectType: 'user', objectId: id.username };
      const user = await requireUser(store.db, id.username);
      await requirePassword(svc, req, facts, user, req.body.currentPassword);
      await audited(svc, req, async (tx) => {
        await setPassword(tx, clock, user.id, req.body.newPassword, { keepSessionId: id.sessionId });
        return {
          result: null,
          audit: { action: 'user.password.change', objectType: 'user', objectId: user.username },
        };
      });
      return reply.status(204).send(null);
    },
  );
}
