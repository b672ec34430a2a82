import type { ProjectRole } from './roles.js';

/**
 * What a route needs. Every route declares one (`config.permission`); the server refuses to
 * start with a route that does not, and a test walks every route against every role.
 *
 * - public: no identity (health, metrics, login, OpenAPI).
 * - identity: any valid identity, user session or API token.
 * - session: a user's own session (API tokens cannot manage accounts or mint tokens).
 * - mfa-setup: a user session, even one that must still enrol in MFA before anything else.
 * - project:<role>: at least that role on the project named by the `:project` URL parameter.
 * - project-session:<role>: the same, through a user session only (minting API tokens: a token
 *   must not be able to mint tokens, or a leaked token could outlive its own expiry).
 * - owner: the platform owner (a user session only; tokens are always project-scoped).
 * - agent: the agent protocol (`falaj agent`): an agent token, or the owner's session. An agent
 *   token is refused everywhere else.
 * - invoke: calling a deployment of the `:project` (src/serving/): any member of the project, or
 *   an invoke token (a project token of role 'invoke', which can do nothing else, possibly bound
 *   to one deployment). A route may also let anonymous callers through where the deployment is
 *   public (`config.anonymous`).
 */
export type Permission =
  | 'public'
  | 'identity'
  | 'session'
  | 'mfa-setup'
  | `project:${ProjectRole}`
  | `project-session:${ProjectRole}`
  | 'owner'
  | 'agent'
  | 'invoke';

export interface PermissionRule {
  scope: 'public' | 'identity' | 'session' | 'mfa-setup' | 'project' | 'owner' | 'agent' | 'invoke';
  role?: ProjectRole;
  sessionOnly?: boolean;
}

export function parsePermission(p: Permission): PermissionRule {
  if (p.startsWith('project:')) return { scope: 'project', role: p.slice('project:'.length) as ProjectRole };
  if (p.startsWith('project-session:')) {
    return { scope: 'project', role: p.slice('project-session:'.length) as ProjectRole, sessionOnly: true };
  }
  return { scope: p as PermissionRule['scope'] };
}
