// The registry module: registered models, versions and aliases (the core), MLflow's Model
// Registry API and Falaj's v1 models API. Registry parts that react to its changes (webhooks)
// listen on the module's event bus; more plugins join the list below.
import type { FalajModule, ModuleRuntime } from '../http/module.js';
import { RegistryEvents } from './events.js';
import { mlflowRegistryRoutes, v1RegistryRoutes } from './registry-routes.js';
import type { RegistryContext } from './registry-service.js';

/** What registers with the registry: its context (services and event bus) in, a runtime out. */
export type RegistryPlugin = (
  app: Parameters<FalajModule['register']>[0],
  ctx: RegistryContext,
) => Promise<ModuleRuntime | undefined> | Promise<void>;

const PLUGINS: readonly RegistryPlugin[] = [mlflowRegistryRoutes, v1RegistryRoutes];

export const registryModule: FalajModule = {
  name: 'registry',
  async register(app, moduleCtx) {
    const ctx: RegistryContext = { svc: moduleCtx.svc, events: new RegistryEvents() };
    const runtimes: ModuleRuntime[] = [];
    for (const plugin of PLUGINS) {
      const r = await plugin(app, ctx);
      if (r) runtimes.push(r);
    }
    return {
      async start() {
        for (const r of runtimes) await r.start?.();
      },
      async stop() {
        for (const r of [...runtimes].reverse()) await r.stop?.();
      },
    };
  },
};
