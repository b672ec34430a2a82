// The security module: sign-in, MFA, users, project tokens, the audit trail's API and project secrets.
import { routesModule } from '../http/module.js';
import { auditRoutes } from './audit-routes.js';
import { authRoutes } from './auth-routes.js';
import { mfaRoutes } from './mfa-routes.js';
import { secretRoutes } from './secret-routes.js';
import { tokenRoutes } from './token-routes.js';
import { userRoutes } from './user-routes.js';

export const securityModule = routesModule('security', [
  authRoutes,
  mfaRoutes,
  userRoutes,
  tokenRoutes,
  auditRoutes,
  secretRoutes,
]);
