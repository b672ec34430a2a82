// The artifacts module: the project artifact store's API (the store and its reaper are services).
import { routesModule } from '../http/module.js';
import { artifactRoutes } from './artifact-routes.js';

export const artifactsModule = routesModule('artifacts', [artifactRoutes]);
