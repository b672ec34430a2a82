// The registry's routes: MLflow's Model Registry API under /api/2.0/mlflow/ in a plugin scope
// of its own (MLflow's error shape and lenient JSON, as tracking's), and Falaj's v1 API under
// /api/v1/projects/:project/models.
import type { FalajApp } from '../http/services.js';
import { mlflowAliasRoutes } from './mlflow-alias-routes.js';
import { mlflowModelRoutes } from './mlflow-model-routes.js';
import { installRegistryMlflowScope } from './mlflow-scope.js';
import { mlflowVersionRoutes } from './mlflow-version-routes.js';
import type { RegistryContext } from './registry-service.js';
import { v1ModelRoutes } from './v1-model-routes.js';
import { v1VersionRoutes } from './v1-version-routes.js';

export async function mlflowRegistryRoutes(app: FalajApp, ctx: RegistryContext): Promise<void> {
  await app.register(async (plugin) => {
    const scope = plugin as unknown as FalajApp;
    installRegistryMlflowScope(scope);
    mlflowModelRoutes(scope, ctx);
    mlflowAliasRoutes(scope, ctx);
    mlflowVersionRoutes(scope, ctx);
  });
}

export async function v1RegistryRoutes(app: FalajApp, ctx: RegistryContext): Promise<void> {
  await v1ModelRoutes(app, ctx);
  await v1VersionRoutes(app, ctx);
}
