// A deployment as the API shows it.
import { iso } from '../../http/wire.js';
import type { DeploymentSpec } from './deployment-spec.js';
import type { DeploymentRow, ReplicaRow, RevisionRow } from './deployment-store.js';

export interface ReplicaView {
  id: string;
  url: string;
  ready: boolean;
  revision: number;
  reason: string;
  lastSeen: string;
}

export interface DeploymentView {
  name: string;
  description: string;
  /** Where clients call it: V2 under /v2, MLflow scoring at /invocations. */
  url: string;
  revision: number;
  public: boolean;
  state: string;
  stateReason: string;
  /** The versions serving now, per variant, as the hosts last reported. */
  serving: Record<string, { model: string; version: number }> | null;
  spec: DeploymentSpec;
  replicas: ReplicaView[];
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

export function servingPath(project: string, name: string): string {
  return `/serving/${project}/${name}`;
}

export function replicaView(r: ReplicaRow): ReplicaView {
  return {
    id: r.replicaId,
    url: r.url,
    ready: r.ready,
    revision: r.revision,
    reason: r.reason,
    lastSeen: iso(r.lastSeen)!,
  };
}

export function deploymentView(
  project: string,
  row: DeploymentRow,
  spec: DeploymentSpec,
  replicas: readonly ReplicaRow[],
): DeploymentView {
  return {
    name: row.name,
    description: row.description,
    url: servingPath(project, row.name),
    revision: row.revision,
    public: row.public === 1,
    state: row.state,
    stateReason: row.state_reason,
    serving: row.serving
      ? (JSON.parse(row.serving) as Record<string, { model: string; version: number }>)
      : null,
    spec,
    replicas: replicas.map(replicaView),
    createdAt: iso(row.created_at)!,
    createdBy: row.created_by,
    updatedAt: iso(row.updated_at)!,
  };
}

export function revisionView(r: RevisionRow) {
  return {
    revision: r.revision,
    reason: r.reason,
    details: r.details,
    spec: r.spec,
    createdAt: iso(r.createdAt)!,
    createdBy: r.createdBy,
  };
}
