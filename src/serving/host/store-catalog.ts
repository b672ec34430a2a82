// The catalog of the API servers: deployments from the store, model files from the artifact
// store, PII tags from the lineage of the primary model's training data.
import path from 'node:path';
import { filesAt } from '../../artifacts/artifact-rows.js';
import { blobToFile } from '../../artifacts/blob-file.js';
import { FalajError } from '../../core/errors.js';
import { piiColumns } from '../../data/version-facts.js';
import type { Services } from '../../http/services.js';
import { walk } from '../../lineage/lineage-store.js';
import { modelFiles } from '../../registry/staging/evaluation-service.js';
import { getVersionById } from '../../registry/version-store.js';
import type { Executor } from '../../store/executor.js';
import { autoRollbackCanary, resolveSpec, type ServedVersion } from '../deployments/deployment-service.js';
import { currentDeployments, reportState } from '../deployments/deployment-store.js';
import type { DeploymentCatalog, DeploymentPlan, HostReport, ModelFiles } from './catalog.js';

/** Columns tagged PII in any dataset version upstream of the model version (its training data). */
export async function trainingPiiColumns(
  db: Executor,
  projectId: string,
  versionId: string,
): Promise<string[]> {
  const edges = await walk(db, projectId, { kind: 'model_version', id: versionId }, 'up', {
    depth: 6,
    limit: 200,
  });
  const dataVersions = [
    ...new Set(edges.filter((e) => e.from.kind === 'dataset_version').map((e) => e.from.id)),
  ];
  if (dataVersions.length === 0) return [];
  const datasets = await db
    .selectFrom('data_versions')
    .select('dataset_id')
    .distinct()
    .where('id', 'in', dataVersions)
    .execute();
  const columns = new Set<string>();
  for (const d of datasets) for (const c of await piiColumns(db, d.dataset_id)) columns.add(c.column);
  return [...columns].sort();
}

export class StoreCatalog implements DeploymentCatalog {
  constructor(
    private readonly svc: Services,
    /** Only these deployment ids (a server serves all). */
    private readonly only?: readonly string[],
  ) {}

  async plans(): Promise<DeploymentPlan[]> {
    const db = this.svc.store.db;
    const out: DeploymentPlan[] = [];
    for (const d of await currentDeployments(db, this.only)) {
      const plan: DeploymentPlan = {
        id: d.row.id,
        projectId: d.row.project_id,
        project: d.project,
        name: d.row.name,
        revision: d.row.revision,
        public: d.row.public === 1,
        spec: d.spec,
        versions: [],
        piiColumns: [],
      };
      try {
        plan.versions = await resolveSpec(db, d.row.project_id, d.spec);
        const primary = plan.versions.find((v) => v.variant === 'primary');
        if (primary) plan.piiColumns = await trainingPiiColumns(db, d.row.project_id, primary.versionId);
      } catch (err) {
        plan.error = err instanceof Error ? err.message : String(err);
      }
      out.push(plan);
    }
    return out;
  }

  async fetchModel(projectId: string, version: ServedVersion, dir: string): Promise<ModelFiles> {
    const db = this.svc.store.db;
    const row = await getVersionById(db, version.versionId);
    if (!row)
      throw new FalajError('FALAJ_MODEL_VERSION_NOT_FOUND', `${version.ref}: the version was deleted`);
    const files = modelFiles(row, await filesAt(db, projectId, row.artifact_path));
    for (const f of files) await blobToFile(this.svc, f.digest, path.join(dir, f.name));
    return { files: files.map((f) => ({ name: f.name, digest: f.digest })), format: version.format };
  }

  async report(plan: DeploymentPlan, r: HostReport): Promise<void> {
    await reportState(
      this.svc.store.db,
      plan.id,
      plan.revision,
      r.state,
      r.reason,
      r.serving,
      this.svc.clock.now(),
    );
  }

  rollbackCanary(plan: DeploymentPlan, decision: Parameters<DeploymentCatalog['rollbackCanary']>[1]) {
    return autoRollbackCanary(this.svc, plan.id, plan.revision, { ...decision });
  }
}

export type { HostReport };
