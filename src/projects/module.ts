// The projects module: projects and their members.
import { routesModule } from '../http/module.js';
import { projectMemberRoutes } from './project-member-routes.js';
import { projectRoutes } from './project-routes.js';

export const projectsModule = routesModule('projects', [projectRoutes, projectMemberRoutes]);
