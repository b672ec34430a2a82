import type { FalajApp, Services } from '../http/services.js';
import { holdVersionBlobs } from './blobs.js';
import { datasetRoutes } from './dataset-routes.js';
import { versionAnalysisRoutes } from './version-analysis-routes.js';
import { versionContentRoutes } from './version-content-routes.js';
import { versionRoutes } from './version-routes.js';
import { versionValidationRoutes } from './version-validation-routes.js';

/** Every route of the data domain under /api/v1/projects/:project/datasets. */
export async function dataRoutes(app: FalajApp, svc: Services): Promise<void> {
  holdVersionBlobs(svc);
  await datasetRoutes(app, svc);
  await versionRoutes(app, svc);
  await versionContentRoutes(app, svc);
  await versionValidationRoutes(app, svc);
  await versionAnalysisRoutes(app, svc);
}
