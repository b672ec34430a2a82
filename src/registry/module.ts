// The registry module: registered models, versions and aliases (the core), MLflow's Model
// Registry API and Falaj's v1 models API. Registry parts that react to its changes (webhooks)
// listen on the module's event bus; more plugins join the list below.
import type { FalajModule, ModuleRuntime } from '../http/module.js';
import type { FalajApp } from '../http/services.js';
import { RegistryEvents } from './events.js';
import { mlflowRegistryRoutes, v1RegistryRoutes } from './registry-routes.js';
import type { RegistryContext } from './registry-service.js';
import { type StagingRuntime, stagingPlugin } from './staging/staging.js';

/** What registers with the registry: its context (services and event bus) in, a runtime out. */
export type RegistryPlugin = (
  app: Parameters<FalajModule['register']>[0],
  ctx: RegistryContext,
) => Promise<ModuleRuntime | undefined> | Promise<void>;

const PLUGINS: readonly RegistryPlugin[] = [mlflowRegistryRoutes, v1RegistryRoutes];

/** The registry's background work; the staging step's (its webhook dispatcher) is named for tests. */
export interface RegistryRuntime extends ModuleRuntime {
  readonly staging: StagingRuntime;
}

export const registryModule: FalajModule<RegistryRuntime> = {
  name: 'registry',
  async register(app, moduleCtx) {
    const ctx: RegistryContext = { svc: moduleCtx.svc, events: new RegistryEvents() };
    const runtimes: ModuleRuntime[] = [];
    for (const plugin of PLUGINS) {
      const r = await plugin(app, ctx);
      if (r) runtimes.push(r);
    }
    // The staging step (src/registry/staging/): evaluations, gates, promotions, webhooks, cards.
    const staging = await stagingPlugin(app, ctx);
    runtimes.push(staging);
    return {
      staging,
      async start() {
        for (const r of runtimes) await r.start?.();
      },
      async stop() {
        for (const r of [...runtimes].reverse()) await r.stop?.();
      },
    };
  },
};

/** The registry module's runtime of an app (tests drive the webhook dispatcher through it). */
export function registryRuntime(app: FalajApp): RegistryRuntime {
  return app.falajModule(registryModule);
}
