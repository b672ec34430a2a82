// The lineage module: the graph's read route and the run-input route. The edges themselves are
// recorded by the domains where they make the link (src/lineage/lineage-store.ts).
import { routesModule } from '../http/module.js';
import { lineageRoutes } from './lineage-routes.js';

export const lineageModule = routesModule('lineage', [lineageRoutes]);
