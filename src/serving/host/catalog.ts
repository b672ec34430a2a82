// Where a host learns what to serve and gets the model files. The API servers read the store
// and the artifact store directly (store-catalog.ts); a `falaj serve` replica asks a server
// over HTTP. One interface, so that the host (deployment-host.ts) is the same code in both.

import type { ServedVersion } from '../deployments/deployment-service.js';
import type { DeploymentSpec } from '../deployments/deployment-spec.js';
import type { RollbackDecision } from '../traffic/rollback-rule.js';

/** A deployment as a host must serve it now: its current revision with each model resolved. */
export interface DeploymentPlan {
  id: string;
  projectId: string;
  project: string;
  name: string;
  revision: number;
  public: boolean;
  spec: DeploymentSpec;
  /** The versions each variant resolves to now (aliases followed); empty when `error` is set. */
  versions: ServedVersion[];
  /** Why the spec does not resolve now (an alias removed, a version deleted). */
  error?: string;
  /** Input columns tagged PII in the data the primary model was trained on. */
  piiColumns: string[];
}

export interface ModelFiles {
  /** Each file's name in the folder and its SHA-256. */
  files: { name: string; digest: string }[];
  format: 'falaj' | 'onnx';
}

/** What a host reports about a deployment after trying to serve a revision. */
export interface HostReport {
  state: 'ready' | 'degraded' | 'failed';
  reason: string;
  serving: Record<string, { model: string; version: number }>;
}

export interface DeploymentCatalog {
  /** Every deployment this host serves (or those named). */
  plans(): Promise<DeploymentPlan[]>;
  /** Downloads a version's files into `dir` (which exists and is empty). */
  fetchModel(projectId: string, version: ServedVersion, dir: string): Promise<ModelFiles>;
  report(plan: DeploymentPlan, report: HostReport): Promise<void>;
  /** Rolls a failing canary back; the new revision, or undefined when someone else moved first. */
  rollbackCanary(plan: DeploymentPlan, decision: RollbackDecision): Promise<number | undefined>;
}
