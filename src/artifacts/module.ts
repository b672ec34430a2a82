// The artifacts module: the project artifact store's API (the store and its reaper are services).
import { routesModule } from '../http/module.js';
import { artifactFileRoutes, mlflowArtifactProxyRoutes } from './artifact-file-routes.js';
import { artifactListRoutes } from './artifact-list-routes.js';

export const artifactsModule = routesModule('artifacts', [
  artifactFileRoutes,
  artifactListRoutes,
  mlflowArtifactProxyRoutes,
]);
