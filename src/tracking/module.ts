// The tracking module: MLflow's REST API (tracking and the artifact proxy) and Falaj's own v1 tracking API.
import { routesModule } from '../http/module.js';
import { mlflowRoutes } from './mlflow-routes.js';
import { trackingV1Routes } from './v1-routes.js';

export const trackingModule = routesModule('tracking', [mlflowRoutes, trackingV1Routes]);
