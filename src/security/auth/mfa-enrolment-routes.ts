import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../../core/errors.js';
import { audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import { UserSchema } from './auth-routes.js';
import { activateMfa, beginEnrolment, removeMfa, replaceRecoveryCodes } from './mfa-store.js';
import { mfaContext } from './second-factor.js';
import { requirePassword, requireSecondFactor, throttledCode } from './throttled-checks.js';
import { matchTotp, otpauthUri } from './totp.js';
import { requireUser, toView } from './users.js';

export const NO_MFA = () =>
  new FalajError('FALAJ_MFA_STATE', 'MFA is not enabled on this account: run `falaj mfa enroll`');

const SecretsNote = 'shown once: the server keeps only a sealed copy of the secret and hashes of the codes';

export const RecoveryCodesSchema = Type.Object({ recoveryCodes: Type.Array(Type.String()) });

/** Your own TOTP: enrol, activate with a first code (which gives the recovery codes), disable. */
export async function mfaEnrolmentRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store, clock, keyring } = svc;

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
        const secret = await beginEnrolment(tx, clock, keyring, user.id);
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
      const sealed = user.mfa_secret;
      if (!sealed)
        throw new FalajError('FALAJ_MFA_STATE', 'no enrolment in progress: run `falaj mfa enroll` first');
      const secret = keyring.unwrap(sealed, mfaContext(user.id)).toString('utf8');
      const step = await throttledCode<number>(svc, req, facts, async () => {
        const matched = matchTotp(secret, req.body.code, clock.now());
        return matched === null ? { refused: 'invalid' as const } : { accepted: matched };
      });
      return audited(svc, req, async (tx) => {
        // Conditional on the state read above: a concurrent enrol or activation makes this a no-op.
        if (!(await activateMfa(tx, clock, user.id, sealed, step)))
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
      await requireSecondFactor(svc, req, facts, user, {
        totp: req.body.code,
        recoveryCode: req.body.recoveryCode,
      });
      return audited(svc, req, async (tx) => {
        await removeMfa(tx, user.id, clock.now());
        return { result: toView(await requireUser(tx, user.username)), audit: facts };
      });
    },
  );
}
