// Who a request comes from, as the request kit sees it. The security module resolves it
// (security/auth/identity.ts) and decides access (security/access/access.ts); routes and the
// audited-write helper only read it, so its shape lives here, below every domain.
import type { ProjectRole, TokenRole } from './roles.js';

/** Who is calling: a user through a login session, or an API token acting for its user. */
export interface Identity {
  /** agent: an agent token (`falaj agent`), good for the agent protocol's routes only. */
  kind: 'session' | 'token' | 'agent';
  userId: string;
  username: string;
  isOwner: boolean;
  sessionId?: string;
  /** runId: a job's token, which writes only to that run and runs nested under it. */
  token?: { id: string; projectId: string; role: TokenRole; runId?: string; deployment?: string };
  /** The agent token, for kind 'agent'. */
  agentToken?: { id: string; name: string };
  /** MFA is required for everyone and this user has not enrolled: only MFA set-up is allowed. */
  mfaPending: boolean;
}

export function actorOf(identity: Identity | null): string {
  if (!identity) return 'anonymous';
  if (identity.kind === 'token' && identity.token) return `token:${identity.token.id}:${identity.username}`;
  if (identity.kind === 'agent' && identity.agentToken) return `agent-token:${identity.agentToken.id}`;
  return `user:${identity.username}`;
}

/** The project a request addresses and the caller's effective role in it. */
export interface ProjectAccess {
  id: string;
  name: string;
  role: ProjectRole;
}
