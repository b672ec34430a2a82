import { Type } from '@fastify/type-provider-typebox';
import { audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import { UserSchema } from './auth-routes.js';
import { clearFailures } from './login-throttle.js';
import { removeMfa } from './mfa-store.js';
import { endUserSessions } from './sessions.js';
import { mfaThrottleKey } from './throttled-checks.js';
import { requireUser, toView, USERNAME_PATTERN } from './users.js';

/** Another user's MFA, administered by the platform owner: the reset for a lost device. */
export async function mfaAdminRoutes(app: FalajApp, svc: Services): Promise<void> {
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
        const now = svc.clock.now();
        await removeMfa(tx, user.id, now);
        await clearFailures(tx, mfaThrottleKey(user.username));
        // Whoever holds a session of the account (perhaps with the lost device) must log in
        // again; the owner's own session survives a reset of their own MFA.
        const sessionsEnded = await endUserSessions(tx, user.id, now, req.identity!.sessionId);
        return {
          result: toView(await requireUser(tx, user.username)),
          audit: {
            action: 'user.mfa.reset',
            objectType: 'user',
            objectId: user.username,
            details: { wasEnabled: user.mfa_enabled === 1, sessionsEnded },
          },
        };
      }),
  );
}
