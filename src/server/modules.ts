// The one list of domain modules (src/http/module.ts). Adding a domain is one folder with its
// module.ts and one line here. Registered in this order, started in this order once the server
// listens, stopped in reverse order when it closes.
import { artifactsModule } from '../artifacts/module.js';
import { dataModule } from '../data/module.js';
import type { FalajModule } from '../http/module.js';
import { jobsModule } from '../jobs/module.js';
import { lineageModule } from '../lineage/module.js';
import { projectsModule } from '../projects/module.js';
import { registryModule } from '../registry/module.js';
import { securityModule } from '../security/module.js';
import { servingModule } from '../serving/module.js';
import { trackingModule } from '../tracking/module.js';
import { trainingModule } from '../trainer/module.js';

export const MODULES: readonly FalajModule[] = [
  securityModule,
  projectsModule,
  artifactsModule,
  trackingModule,
  trainingModule,
  jobsModule,
  dataModule,
  registryModule,
  lineageModule,
  servingModule,
];
