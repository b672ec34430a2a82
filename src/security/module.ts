// The security module: who a caller is (auth/: sign-in with its throttle, MFA, users), what it
// may do (access/: project API tokens; roles, permissions and run scopes are checked by the
// server's auth hooks on every route), the audit trail's API (audit/) and project secrets
// sealed by the keyring (secrets/).
import { routesModule } from '../http/module.js';
import { tokenRoutes } from './access/token-routes.js';
import { auditRoutes } from './audit/audit-routes.js';
import { authRoutes } from './auth/auth-routes.js';
import { mfaAdminRoutes } from './auth/mfa-admin-routes.js';
import { mfaEnrolmentRoutes } from './auth/mfa-enrolment-routes.js';
import { recoveryCodeRoutes } from './auth/recovery-code-routes.js';
import { settingsRoutes } from './auth/settings-routes.js';
import { userRoutes } from './auth/user-routes.js';
import { secretRoutes } from './secrets/secret-routes.js';

export const securityModule = routesModule('security', [
  authRoutes,
  mfaEnrolmentRoutes,
  recoveryCodeRoutes,
  mfaAdminRoutes,
  settingsRoutes,
  userRoutes,
  tokenRoutes,
  auditRoutes,
  secretRoutes,
]);
