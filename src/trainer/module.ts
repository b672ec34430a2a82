// The training module: server-side training (POST /training) and the runner that trains in the
// server's process, one training at a time per request, logging into its tracking run. It lives
// in src/trainer/, above the library in src/training/, because it needs the server's services
// (HTTP, artifacts, tracking, audit); the library needs none of them.
import type { FalajModule, ModuleRuntime } from '../http/module.js';
import type { FalajApp } from '../http/services.js';
import { ExperimentStore } from '../tracking/experiment-store.js';
import { RunStore } from '../tracking/run-store.js';
import { ServerTrainer } from './server-training.js';
import { trainingRoutes } from './training-routes.js';

export interface TrainingRuntime extends ModuleRuntime {
  /** Tests wait on `idle()`. */
  readonly trainer: ServerTrainer;
}

export const trainingModule: FalajModule<TrainingRuntime> = {
  name: 'training',
  async register(app, { svc }) {
    const experiments = new ExperimentStore(svc.store.dialect);
    const runs = new RunStore(experiments);
    const trainer = new ServerTrainer(svc, runs);
    await trainingRoutes(app, svc, { trainer, experiments, runs });
    // No stop: a server that stops mid-training leaves the run as server-training.ts says.
    return { trainer };
  },
};

export function trainingRuntime(app: FalajApp): TrainingRuntime {
  return app.falajModule(trainingModule);
}
