import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { auditAttempt, audited } from '../server/audited.js';
import type { FalajApp, Services } from '../server/services.js';
import { readRequireMfa } from './identity.js';
import { checkThrottle, clearFailures, recordFailure } from './login-throttle.js';
import { burnPasswordCheck, verifyPassword } from './passwords.js';
import { checkSecondFactor } from './second-factor.js';
import { newSecretToken, SESSION_TOKEN_PREFIX, sha256Hex } from './secrets.js';
import { findUser, requireUser, setPassword, toView } from './users.js';

const ErrorCodeFor = {
  missing: 'FALAJ_TOTP_REQUIRED',
  invalid: 'FALAJ_TOTP_INVALID',
  replayed: 'FALAJ_TOTP_REPLAYED',
} as const;

export const UserSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  owner: Type.Boolean(),
  disabled: Type.Boolean(),
  mfaEnabled: Type.Boolean(),
  createdAt: Type.String(),
});

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
      const { username, password } = req.body;
      const facts = { action: 'auth.login', objectType: 'user', objectId: username };
      await checkThrottle(store.db, clock, username).catch(async (err: unknown) => {
        if (err instanceof FalajError)
          await auditAttempt(svc, req, { ...facts, details: { reason: err.code } }, err.status);
        throw err;
      });
      const user = await findUser(store.db, username);
      let failure: FalajError | undefined;
      if (!user) {
        await burnPasswordCheck(password);
        failure = new FalajError('FALAJ_INVALID_CREDENTIALS', 'wrong username or password');
      } else if (!(await verifyPassword(user.password_hash, password))) {
        failure = new FalajError('FALAJ_INVALID_CREDENTIALS', 'wrong username or password');
      } else if (user.disabled) {
        failure = new FalajError('FALAJ_ACCOUNT_DISABLED', 'account is disabled');
      }
      if (!failure && user && user.mfa_enabled) {
        const second = await store.db
          .transaction()
          .execute((tx) => checkSecondFactor(tx, clock, svc.keyring, user, req.body));
        if (second !== 'ok') failure = new FalajError(ErrorCodeFor[second], `second factor: ${second}`);
      }
      if (failure) {
        const err = failure;
        // A missing code is not a guess, so it does not count towards the lockout.
        await store.db.transaction().execute(async (tx) => {
          if (err.code !== 'FALAJ_TOTP_REQUIRED') await recordFailure(tx, clock, username);
          await auditAttempt(svc, req, { ...facts, details: { reason: err.code } }, err.status, tx);
        });
        throw err;
      }
      const u = user!;
      const token = newSecretToken(SESSION_TOKEN_PREFIX);
      const now = clock.now();
      const expiresAt = now + svc.config.sessionTtlMs;
      const mfaEnrollmentRequired = !u.mfa_enabled && (await readRequireMfa(store.db));
      await audited(svc, req, async (tx) => {
        await clearFailures(tx, username);
        const id = newId();
        await tx
          .insertInto('sessions')
          .values({
            id,
            token_hash: sha256Hex(token),
            user_id: u.id,
            created_at: now,
            expires_at: expiresAt,
            last_used_at: now,
            revoked_at: null,
          })
          .execute();
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
        await tx
          .updateTable('sessions')
          .set({ revoked_at: clock.now() })
          .where('id', '=', sessionId)
          .execute();
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
      const memberships = await store.db
        .selectFrom('memberships as m')
        .innerJoin('projects as p', 'p.id', 'm.project_id')
        .select(['p.name as project', 'm.role'])
        .where('m.user_id', '=', id.userId)
        .orderBy('p.name')
        .execute();
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
      // Guesses at the current password count towards the login throttle: a session must not
      // be an unthrottled password oracle.
      await checkThrottle(store.db, clock, user.username).catch(async (err: unknown) => {
        if (err instanceof FalajError)
          await auditAttempt(svc, req, { ...facts, details: { reason: err.code } }, err.status);
        throw err;
      });
      if (!(await verifyPassword(user.password_hash, req.body.currentPassword))) {
        const err = new FalajError('FALAJ_INVALID_CREDENTIALS', 'current password is wrong');
        await store.db.transaction().execute(async (tx) => {
          await recordFailure(tx, clock, user.username);
          await auditAttempt(svc, req, { ...facts, details: { reason: err.code } }, err.status, tx);
        });
        throw err;
      }
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
