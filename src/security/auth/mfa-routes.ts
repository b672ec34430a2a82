import { randomInt } from 'node:crypto';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { FalajError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { type AuditFacts, audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import type { Executor } from '../../store/executor.js';
import { refuseAttempt, requirePassword, throttledAttempt, UserSchema } from './auth-routes.js';
import { readRequireMfa } from './identity.js';
import { clearFailures } from './login-throttle.js';
import {
  checkSecondFactor,
  hashRecoveryCode,
  mfaContext,
  type SecondFactorResult,
  secondFactorRefusal,
} from './second-factor.js';
import { matchTotp, newTotpSecret, otpauthUri } from './totp.js';
import { requireUser, toView, USERNAME_PATTERN } from './users.js';

export const RECOVERY_CODE_COUNT = 10;

// Crockford's base32 alphabet (no i, l, o, u): 5 bits a character, easy to read aloud and type.
const RECOVERY_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * One recovery code: 16 characters, 80 random bits, shown as xxxx-xxxx-xxxx-xxxx. 80 bits is
 * why an unsalted SHA-256 (hashRecoveryCode) is a sound way to store it.
 */
export function newRecoveryCode(): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return s.match(/.{4}/g)!.join('-');
}

/** Replaces every recovery code of a user by a fresh set; returns the codes (shown once). */
async function replaceRecoveryCodes(tx: Executor, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await tx
    .insertInto('recovery_codes')
    .values(
      codes.map((c) => ({ id: newId(), user_id: userId, code_hash: hashRecoveryCode(c), used_at: null })),
    )
    .execute();
  return codes;
}

/**
 * Guesses at a second factor through these routes are throttled like logins, under a key of
 * their own: a stolen session must not be able to try a million TOTP codes to reach the
 * recovery codes, and a wrong code here must not lock the user out of logging in. Usernames
 * cannot contain ':', so the key never meets a real login's. (The password these routes ask
 * for is checked under the login key, like every password.)
 */
const mfaThrottleKey = (username: string) => `mfa:${username}`;

const NO_MFA = () =>
  new FalajError('FALAJ_MFA_STATE', 'MFA is not enabled on this account: run `falaj mfa enroll`');

const SecretsNote = 'shown once: the server keeps only a sealed copy of the secret and hashes of the codes';

const RecoveryCodesSchema = Type.Object({ recoveryCodes: Type.Array(Type.String()) });
const MfaSettingSchema = Type.Object({ required: Type.Boolean() });

/** TOTP enrolment and its management, recovery codes, and the owner's require-MFA switch. */
export async function mfaRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store, clock, keyring } = svc;

  /**
   * One guess at a code, under the MFA throttle of the caller: `check` returns what it
   * accepted, or why it refused (then thrown as the matching error, and counted if a guess).
   */
  async function throttledCode<T>(
    req: FastifyRequest,
    facts: AuditFacts,
    check: () => Promise<{ accepted: T } | { refused: Exclude<SecondFactorResult, 'ok'> }>,
  ): Promise<T> {
    const key = mfaThrottleKey(req.identity!.username);
    return throttledAttempt(svc, req, facts, key, async (attempt) => {
      const checked = await check();
      if ('accepted' in checked) {
        await attempt.finish(store.db, 'success');
        return checked.accepted;
      }
      const { error, outcome } = secondFactorRefusal(checked.refused);
      throw await refuseAttempt(svc, req, facts, attempt, outcome, error);
    });
  }

  /** Checks and consumes a TOTP or recovery code of a user with MFA enabled; throws if wrong. */
  async function requireSecondFactor(
    req: FastifyRequest,
    facts: AuditFacts,
    user: Parameters<typeof checkSecondFactor>[3],
    input: { totp?: string | undefined; recoveryCode?: string | undefined },
  ): Promise<void> {
    await throttledCode(req, facts, async () => {
      const result = await store.db
        .transaction()
        .execute((tx) => checkSecondFactor(tx, clock, keyring, user, input));
      return result === 'ok' ? { accepted: undefined } : { refused: result };
    });
  }

  app.post(
    '/api/v1/auth/mfa/enroll',
    {
      config: { permission: 'mfa-setup' },
      schema: {
        tags: ['mfa'],
        summary: `Start TOTP enrolment (needs your password): a new secret and its otpauth:// URI (${SecretsNote}); activate with a first code`,
        body: Type.Object(
          { password: Type.String({ minLength: 1, maxLength: 1024 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ secret: Type.String(), otpauthUri: Type.String() }) },
      },
    },
    async (req) => {
      const username = req.identity!.username;
      const facts = { action: 'user.mfa.enroll', objectType: 'user', objectId: username };
      // The password again: a session left open (or stolen) must not be enough to tie the
      // account to someone else's authenticator.
      await requirePassword(svc, req, facts, await requireUser(store.db, username), req.body.password);
      return audited(svc, req, async (tx) => {
        const user = await requireUser(tx, username);
        if (user.mfa_enabled)
          throw new FalajError(
            'FALAJ_MFA_STATE',
            'MFA is already enabled: disable it first (or ask an owner to reset it)',
          );
        // Enrolling again before activating replaces the pending secret (a QR code scanned badly).
        const secret = newTotpSecret();
        await tx
          .updateTable('users')
          .set({
            mfa_secret: keyring.wrap(Buffer.from(secret, 'utf8'), mfaContext(user.id)),
            mfa_enabled: 0,
            mfa_last_step: null,
            updated_at: clock.now(),
          })
          .where('id', '=', user.id)
          .execute();
        return {
          result: { secret, otpauthUri: otpauthUri(user.username, secret) },
          audit: facts,
        };
      });
    },
  );

  app.post(
    '/api/v1/auth/mfa/activate',
    {
      config: { permission: 'mfa-setup' },
      schema: {
        tags: ['mfa'],
        summary: 'Finish enrolment with a first TOTP code; returns 10 one-time recovery codes (shown once)',
        body: Type.Object(
          { code: Type.String({ minLength: 1, maxLength: 16 }) },
          { additionalProperties: false },
        ),
        response: { 200: RecoveryCodesSchema },
      },
    },
    async (req) => {
      const facts = { action: 'user.mfa.activate', objectType: 'user', objectId: req.identity!.username };
      const user = await requireUser(store.db, req.identity!.username);
      if (user.mfa_enabled) throw new FalajError('FALAJ_MFA_STATE', 'MFA is already enabled');
      if (!user.mfa_secret)
        throw new FalajError('FALAJ_MFA_STATE', 'no enrolment in progress: run `falaj mfa enroll` first');
      const secret = keyring.unwrap(user.mfa_secret, mfaContext(user.id)).toString('utf8');
      const step = await throttledCode(req, facts, async () => {
        const matched = matchTotp(secret, req.body.code, clock.now());
        return matched === null ? { refused: 'invalid' as const } : { accepted: matched };
      });
      return audited(svc, req, async (tx) => {
        // Conditional on the state read above: a concurrent enrol or activation makes this a no-op.
        const res = await tx
          .updateTable('users')
          .set({ mfa_enabled: 1, mfa_last_step: step, updated_at: clock.now() })
          .where('id', '=', user.id)
          .where('mfa_enabled', '=', 0)
          .where('mfa_secret', '=', user.mfa_secret)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1)
          throw new FalajError('FALAJ_MFA_STATE', 'the enrolment changed meanwhile: enrol again');
        const recoveryCodes = await replaceRecoveryCodes(tx, user.id);
        return {
          result: { recoveryCodes },
          audit: { ...facts, details: { recoveryCodes: recoveryCodes.length } },
        };
      });
    },
  );

  app.post(
    '/api/v1/auth/mfa/disable',
    {
      config: { permission: 'session' },
      schema: {
        tags: ['mfa'],
        summary: 'Turn MFA off for your account: needs your password and a TOTP code or a recovery code',
        body: Type.Object(
          {
            password: Type.String({ minLength: 1, maxLength: 1024 }),
            code: Type.Optional(Type.String({ maxLength: 16 })),
            recoveryCode: Type.Optional(Type.String({ maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: UserSchema },
      },
    },
    async (req) => {
      const facts = { action: 'user.mfa.disable', objectType: 'user', objectId: req.identity!.username };
      const user = await requireUser(store.db, req.identity!.username);
      if (!user.mfa_enabled) throw NO_MFA();
      await requirePassword(svc, req, facts, user, req.body.password);
      await requireSecondFactor(req, facts, user, {
        totp: req.body.code,
        recoveryCode: req.body.recoveryCode,
      });
      return audited(svc, req, async (tx) => {
        await tx
          .updateTable('users')
          .set({ mfa_secret: null, mfa_enabled: 0, mfa_last_step: null, updated_at: clock.now() })
          .where('id', '=', user.id)
          .execute();
        await tx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
        return { result: toView(await requireUser(tx, user.username)), audit: facts };
      });
    },
  );

  app.post(
    '/api/v1/auth/mfa/recovery-codes',
    {
      config: { permission: 'session' },
      schema: {
        tags: ['mfa'],
        summary: 'Replace your recovery codes by 10 new ones (shown once); needs a current TOTP code',
        body: Type.Object(
          { code: Type.String({ minLength: 1, maxLength: 16 }) },
          { additionalProperties: false },
        ),
        response: { 200: RecoveryCodesSchema },
      },
    },
    async (req) => {
      const facts = {
        action: 'user.mfa.recovery-codes',
        objectType: 'user',
        objectId: req.identity!.username,
      };
      const user = await requireUser(store.db, req.identity!.username);
      if (!user.mfa_enabled) throw NO_MFA();
      await requireSecondFactor(req, facts, user, { totp: req.body.code });
      return audited(svc, req, async (tx) => {
        const recoveryCodes = await replaceRecoveryCodes(tx, user.id);
        return {
          result: { recoveryCodes },
          audit: { ...facts, details: { recoveryCodes: recoveryCodes.length } },
        };
      });
    },
  );

  app.delete(
    '/api/v1/users/:username/mfa',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['mfa', 'users'],
        summary:
          "Reset a user's MFA (lost device): removes the secret and recovery codes and ends their sessions",
        params: Type.Object({ username: Type.String({ pattern: USERNAME_PATTERN }) }),
        response: { 200: UserSchema },
      },
    },
    async (req) =>
      audited(svc, req, async (tx) => {
        const user = await requireUser(tx, req.params.username);
        const now = clock.now();
        await tx
          .updateTable('users')
          .set({ mfa_secret: null, mfa_enabled: 0, mfa_last_step: null, updated_at: now })
          .where('id', '=', user.id)
          .execute();
        await tx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
        await clearFailures(tx, mfaThrottleKey(user.username));
        // Whoever holds a session of the account (perhaps with the lost device) must log in
        // again; the owner's own session survives a reset of their own MFA.
        let sessions = tx
          .updateTable('sessions')
          .set({ revoked_at: now })
          .where('user_id', '=', user.id)
          .where('revoked_at', 'is', null);
        if (req.identity!.sessionId) sessions = sessions.where('id', '!=', req.identity!.sessionId);
        const ended = await sessions.executeTakeFirst();
        return {
          result: toView(await requireUser(tx, user.username)),
          audit: {
            action: 'user.mfa.reset',
            objectType: 'user',
            objectId: user.username,
            details: { wasEnabled: user.mfa_enabled === 1, sessionsEnded: Number(ended.numUpdatedRows) },
          },
        };
      }),
  );

  app.get(
    '/api/v1/settings',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['settings'],
        summary: 'Platform settings',
        response: { 200: Type.Object({ mfa: MfaSettingSchema }) },
      },
    },
    async () => ({ mfa: { required: await readRequireMfa(store.db) } }),
  );

  app.put(
    '/api/v1/settings/mfa',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['settings', 'mfa'],
        summary:
          'Require MFA for every user (un-enrolled users can then only enrol); the owner must have MFA on first',
        body: Type.Object({ required: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: MfaSettingSchema },
      },
    },
    async (req) =>
      audited(svc, req, async (tx) => {
        const { required } = req.body;
        const previous = await readRequireMfa(tx);
        if (required) {
          const me = await requireUser(tx, req.identity!.username);
          // Otherwise the owner's own next request would be confined to enrolment.
          if (!me.mfa_enabled)
            throw new FalajError(
              'FALAJ_MFA_STATE',
              'enable MFA on your own account (`falaj mfa enroll`) before requiring it for everyone',
            );
        }
        const value = required ? 'true' : 'false';
        await tx
          .insertInto('settings')
          .values({ key: 'require_mfa', value })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
          .execute();
        return {
          result: { required },
          audit: {
            action: 'settings.mfa.update',
            objectType: 'setting',
            objectId: 'require_mfa',
            details: { required, previous },
          },
        };
      }),
  );
}
