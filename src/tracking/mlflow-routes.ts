import type { FalajApp, Services } from '../http/services.js';
import { ExperimentStore } from './experiment-store.js';
import { mlflowArtifactRoutes } from './mlflow-artifact-routes.js';
import { installMlflowScope } from './mlflow-errors.js';
import { mlflowExperimentChangeRoutes } from './mlflow-experiment-change-routes.js';
import { mlflowExperimentRoutes } from './mlflow-experiment-routes.js';
import { mlflowExperimentSearchRoutes } from './mlflow-experiment-search-routes.js';
import { mlflowExperimentTagRoutes } from './mlflow-experiment-tag-routes.js';
import { mlflowMetricRoutes } from './mlflow-metric-routes.js';
import { mlflowRunLogRoutes } from './mlflow-run-log-routes.js';
import { mlflowRunRoutes } from './mlflow-run-routes.js';
import { mlflowRunSearchRoutes } from './mlflow-run-search-routes.js';
import { RunStore } from './run-store.js';

/**
 * The MLflow-compatible tracking API under /api/2.0/mlflow/, in its own plugin scope: its
 * errors take MLflow's shape, and its JSON parser accepts what MLflow clients send (an empty
 * body, and the bare NaN/Infinity tokens of Python's json module) where the rest of the API
 * is strict. The project comes from the API token or the X-Falaj-Project header.
 */
export async function mlflowRoutes(app: FalajApp, svc: Services): Promise<void> {
  const experiments = new ExperimentStore(svc.store.dialect);
  const ctx = { svc, experiments, runs: new RunStore(experiments) };
  await app.register(async (plugin) => {
    const scope = plugin as unknown as FalajApp;
    installMlflowScope(scope);
    mlflowExperimentRoutes(scope, ctx);
    mlflowExperimentSearchRoutes(scope, ctx);
    mlflowExperimentChangeRoutes(scope, ctx);
    mlflowExperimentTagRoutes(scope, ctx);
    mlflowRunRoutes(scope, ctx);
    mlflowRunLogRoutes(scope, ctx);
    mlflowRunSearchRoutes(scope, ctx);
    mlflowMetricRoutes(scope, ctx);
    mlflowArtifactRoutes(scope, ctx);
  });
}
