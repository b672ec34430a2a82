import type { AccessPolicy } from '../../http/guard.js';
import type { Services } from '../../http/services.js';
import { resolveBearer } from '../auth/identity.js';
import { authorize } from './access.js';
import { checkInvokeScope } from './invoke-scope.js';
import { checkRunScope } from './run-scope.js';

/** The platform's access policy, applied by the request kit's guard (http/guard.ts). */
export function accessPolicy(svc: Services): AccessPolicy {
  return {
    identify: (bearer) => resolveBearer(svc.store.db, svc.clock, bearer),
    authorize: (identity, permission, project) => authorize(svc.store.db, identity, permission, project),
    // A job's token (run-scoped) is narrowed further once the body names the run it touches;
    // an invoke token bound to a deployment, to that deployment's URLs.
    afterParse: async (req) => {
      checkInvokeScope(req);
      await checkRunScope(svc.store.db, req);
    },
  };
}
