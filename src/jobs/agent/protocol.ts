// The wire protocol between the server and `falaj agent` (src/jobs/agent/server/agent-routes.ts serves it;
// ./agent-loop.ts speaks it). Agents pull: every heartbeat reports what they run and answers
// with what to start and what to cancel, so a lost response is repaired by the next heartbeat.
import type { AttemptStatus, LaunchRequest, NodeCapacity } from '../types.js';

/** What an agent offers; its node id is the agent id the server gives it. */
export type AgentCapacity = Omit<NodeCapacity, 'nodeId'>;

export interface AgentRegistration {
  readonly name: string;
  readonly capacity: AgentCapacity;
}

export interface AgentLease {
  readonly id: string;
  readonly leaseSeconds: number;
  readonly leaseExpiresAt: string;
}

export interface AttemptReport extends AttemptStatus {
  readonly externalId: string;
}

export interface HeartbeatRequest {
  /** Every attempt the agent holds that has not yet been reported ended. */
  readonly attempts: readonly AttemptReport[];
  /** Shutting down: take it out of the scheduler's nodes, send it nothing new. */
  readonly draining?: boolean;
}

export interface HeartbeatResponse extends AgentLease {
  /** Attempts to start that the agent did not report holding. */
  readonly assignments: readonly { readonly externalId: string; readonly request: LaunchRequest }[];
  readonly cancels: readonly { readonly externalId: string; readonly graceSeconds: number }[];
}

/** How the agent loop reaches the server: HTTP in `falaj agent`, direct calls in tests. */
export interface AgentTransport {
  register(body: AgentRegistration): Promise<AgentLease>;
  heartbeat(agentId: string, body: HeartbeatRequest): Promise<HeartbeatResponse>;
  uploadLog(agentId: string, externalId: string, log: AsyncIterable<Uint8Array>): Promise<void>;
  /** Ships log bytes written at `offset` while the attempt runs (for followers); `done`: stop shipping. */
  appendLog(
    agentId: string,
    externalId: string,
    offset: number,
    bytes: Uint8Array,
  ): Promise<{ size: number; done: boolean }>;
  /** Writes the code snapshot (a tar) of an attempt assigned to this agent to a local file. */
  downloadCode(agentId: string, externalId: string, file: string): Promise<void>;
}

/** Seconds an agent's lease lasts past its last heartbeat (FALAJ_AGENT_LEASE_SECONDS; default 30). */
export function agentLeaseSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.FALAJ_AGENT_LEASE_SECONDS ?? 30);
  return Number.isFinite(v) && v > 0 ? v : 30;
}
