import { Type } from '@fastify/type-provider-typebox';
import { audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import { NO_MFA, RecoveryCodesSchema } from './mfa-enrolment-routes.js';
import { replaceRecoveryCodes } from './mfa-store.js';
import { requireSecondFactor } from './throttled-checks.js';
import { requireUser } from './users.js';

/** Your recovery codes: a new set for a current TOTP code. */
export async function recoveryCodeRoutes(app: FalajApp, svc: Services): Promise<void> {
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
      const user = await requireUser(svc.store.db, req.identity!.username);
      if (!user.mfa_enabled) throw NO_MFA();
      await requireSecondFactor(svc, req, facts, user, { totp: req.body.code });
      return audited(svc, req, async (tx) => {
        const recoveryCodes = await replaceRecoveryCodes(tx, user.id);
        return {
          result: { recoveryCodes },
          audit: { ...facts, details: { recoveryCodes: recoveryCodes.length } },
        };
      });
    },
  );
}
