// The one shape of a domain module. Each domain folder exports its module from `module.ts`;
// server/modules.ts lists them, and the server registers them in that order, starts them once
// it listens and stops them in reverse order when it closes. A module owns its background
// work (a scheduler loop, a training runner): nothing is created as a side effect elsewhere.
import type { Registry } from 'prom-client';
import type { FalajApp, Services } from './services.js';

/** What a module is given when it registers. */
export interface ModuleContext {
  readonly svc: Services;
  /** The server's Prometheus registry (`/metrics`). */
  readonly metrics: Registry;
  /** Where the server listens, once it does (undefined before, and in tests that only inject). */
  serverUrl(): string | undefined;
}

/** What one app's instance of a module runs in the background; absent parts mean nothing to do. */
export interface ModuleRuntime {
  /** After the server listens. */
  start?(): void | Promise<void>;
  /** When the app closes, modules in reverse order of the list. */
  stop?(): Promise<void>;
}

export interface FalajModule<R extends ModuleRuntime = ModuleRuntime> {
  readonly name: string;
  /** Registers the module's routes and builds (without starting) its background work. */
  register(app: FalajApp, ctx: ModuleContext): Promise<R>;
}

/** A module with routes only. */
export function routesModule(
  name: string,
  plugins: readonly ((app: FalajApp, svc: Services) => Promise<void>)[],
): FalajModule {
  return {
    name,
    async register(app, ctx) {
      for (const plugin of plugins) await plugin(app, ctx.svc);
      return {};
    },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The runtime of one of this app's modules (tests drive a module's background work with it). */
    falajModule<R extends ModuleRuntime>(module: FalajModule<R>): R;
  }
}
