// The catalog of a `falaj serve` replica: it has no database nor artifact store, so it reads
// each deployment's plan from a server (GET .../deployments/:d/plan) and downloads the model
// files through the artifact file route; the runtime checks each file's SHA-256 before loading.
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { FalajError } from '../../core/errors.js';
import type { ServedVersion } from '../deployments/deployment-service.js';
import type { DeploymentCatalog, DeploymentPlan, HostReport, ModelFiles } from '../host/catalog.js';
import type { RollbackDecision } from '../traffic/rollback-rule.js';
import type { PlanModel, PlanWire } from './wire.js';

export const planPath = (project: string, deployment: string) =>
  `/api/v1/projects/${encodeURIComponent(project)}/deployments/${encodeURIComponent(deployment)}/plan`;

export class HttpCatalog implements DeploymentCatalog {
  /** The files of each version the last plans named. */
  private readonly models = new Map<string, PlanModel>();
  /** What the host last said of each deployment (by name): the reason a replica is not ready. */
  readonly reports = new Map<string, HostReport>();
  /** Why a deployment has no plan (unknown, refused), by name. */
  readonly missing = new Map<string, string>();

  constructor(
    private readonly client: FalajClient,
    readonly project: string,
    readonly deployments: readonly string[],
  ) {}

  async plans(): Promise<DeploymentPlan[]> {
    const out: DeploymentPlan[] = [];
    for (const name of this.deployments) {
      let wire: PlanWire;
      try {
        wire = await this.client.request<PlanWire>('GET', planPath(this.project, name), {
          timeoutMs: 30_000,
        });
      } catch (err) {
        // A deployment deleted (or this token refused) is no longer served; a server that does
        // not answer (or answers anything else) leaves everything as it is (the host keeps
        // serving what it loaded).
        if (err instanceof FalajApiError && [401, 403, 404].includes(err.status)) {
          this.missing.set(name, err.message);
          continue;
        }
        throw err;
      }
      this.missing.delete(name);
      for (const [id, m] of Object.entries(wire.models)) this.models.set(id, m);
      out.push(wire.plan);
    }
    return out;
  }

  async fetchModel(_projectId: string, version: ServedVersion, dir: string): Promise<ModelFiles> {
    const m = this.models.get(version.versionId);
    if (!m)
      throw new FalajError(
        'FALAJ_MODEL_VERSION_NOT_FOUND',
        `${version.ref}: the server names no files for it`,
      );
    for (const f of m.files) {
      if (f.name.includes('/') || f.name.startsWith('.'))
        throw new FalajError('FALAJ_MODEL_SOURCE_INVALID', `${version.ref}: bad file name '${f.name}'`);
      const res = await this.client.request<Response>('GET', f.url, { as: 'response', retry: 'idempotent' });
      if (!res.body) throw new FalajError('FALAJ_MODEL_SOURCE_INVALID', `${version.ref}: ${f.name} is empty`);
      await pipeline(
        Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>),
        createWriteStream(path.join(dir, f.name), { flags: 'wx' }),
      );
    }
    return { files: m.files.map((f) => ({ name: f.name, digest: f.digest })), format: m.format };
  }

  async report(plan: DeploymentPlan, report: HostReport): Promise<void> {
    // The servers load the deployment themselves and keep its state; a replica's word on it
    // travels in its readiness reports (reason) instead.
    this.reports.set(plan.name, report);
  }

  /** A replica judges the canary on the requests it answered; the server writes the rollback. */
  async rollbackCanary(plan: DeploymentPlan, decision: RollbackDecision): Promise<number | undefined> {
    const res = await this.client.request<{ revision: number | null }>(
      'POST',
      `/api/v1/projects/${encodeURIComponent(this.project)}/deployments/${encodeURIComponent(plan.name)}/canary-rollback`,
      { json: { revision: plan.revision, ...decision }, timeoutMs: 10_000 },
    );
    return res.revision ?? undefined;
  }
}
