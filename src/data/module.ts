// The data module: datasets, their versions, profiles, validation suites and drift.
import { routesModule } from '../http/module.js';
import { dataRoutes } from './data-routes.js';

export const dataModule = routesModule('data', [dataRoutes]);
