import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../../core/errors.js';
import { audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import { readRequireMfa } from './identity.js';
import { writeRequireMfa } from './mfa-store.js';
import { requireUser } from './users.js';

const MfaSettingSchema = Type.Object({ required: Type.Boolean() });

/** The platform's settings, the owner's: today the require-MFA switch. */
export async function settingsRoutes(app: FalajApp, svc: Services): Promise<void> {
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
    async () => ({ mfa: { required: await readRequireMfa(svc.store.db) } }),
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
        await writeRequireMfa(tx, required);
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
