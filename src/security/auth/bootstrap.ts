import { randomBytes } from 'node:crypto';
import type { Services } from '../../http/services.js';
import { createUser } from './users.js';

/**
 * On the first start with an empty store, creates the owner `admin`: with FALAJ_ADMIN_PASSWORD,
 * or a generated password returned once for the caller to print. The audit chain's lock makes
 * two servers starting together on one PostgreSQL create one admin between them.
 */
export async function bootstrapAdmin(
  svc: Services,
): Promise<{ username: string; generatedPassword?: string } | null> {
  return svc.store.db.transaction().execute(async (tx) => {
    await svc.audit.lock(tx);
    const any = await tx.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (any) return null;
    const generated = svc.config.adminPassword ? undefined : randomBytes(18).toString('base64url');
    await createUser(tx, svc.clock, {
      username: 'admin',
      password: svc.config.adminPassword ?? generated!,
      owner: true,
    });
    await svc.audit.append(tx, {
      actor: 'system',
      action: 'user.bootstrap',
      objectType: 'user',
      objectId: 'admin',
      sourceIp: 'local',
      outcome: 'success',
      status: 0,
      requestId: 'bootstrap',
      details: { owner: true, passwordFrom: generated ? 'generated' : 'environment' },
    });
    return generated ? { username: 'admin', generatedPassword: generated } : { username: 'admin' };
  });
}
