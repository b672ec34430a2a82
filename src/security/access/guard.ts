import type { AccessPolicy } from '../../http/guard.js';
import type { Identity } from '../../http/identity.js';
import type { Services } from '../../http/services.js';
import { resolveBearer } from '../auth/identity.js';
import { authorize } from './access.js';
import { invokeCache } from './invoke-cache.js';
import { checkInvokeScope } from './invoke-scope.js';
import { checkRunScope } from './run-scope.js';

/** The platform's access policy, applied by the request kit's guard (http/guard.ts). */
export function accessPolicy(svc: Services): AccessPolicy {
  const cache = invokeCache();
  return {
    async identify(bearer, permission) {
      if (permission !== 'invoke') return resolveBearer(svc.store.db, svc.clock, bearer);
      const known = cache.identities.get(bearer);
      if (known) return known;
      const identity = await resolveBearer(svc.store.db, svc.clock, bearer);
      cache.identities.set(bearer, identity);
      return identity;
    },
    async authorize(identity, permission, project) {
      if (permission !== 'invoke' || !identity) return authorize(svc.store.db, identity, permission, project);
      // Keyed by the credential (a token or session id) and the project.
      const key = accessKey(identity, project);
      const known = cache.access.get(key);
      if (known !== undefined) return known;
      const access = await authorize(svc.store.db, identity, permission, project);
      cache.access.set(key, access);
      return access;
    },
    knownInvoker(bearer, project, deployment) {
      const identity = cache.identities.get(bearer);
      if (!identity || cache.access.get(accessKey(identity, project)) == null) return undefined;
      // A token bound to another deployment is refused by the hooks (checkInvokeScope), not here.
      if (identity.token?.deployment !== undefined && identity.token.deployment !== deployment)
        return undefined;
      return identity;
    },
    // A job's token (run-scoped) is narrowed further once the body names the run it touches;
    // an invoke token bound to a deployment, to that deployment's URLs.
    afterParse: async (req) => {
      checkInvokeScope(req);
      await checkRunScope(svc.store.db, req);
    },
  };
}

/** The access cache's key: the credential (a token or session id) and the project. */
function accessKey(identity: Identity, project: string | undefined): string {
  return `${identity.token?.id ?? identity.sessionId ?? identity.userId}\u0000${project ?? ''}`;
}
