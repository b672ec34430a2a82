import type { FastifyRequest, RouteOptions } from 'fastify';
import { FalajError } from '../core/errors.js';
import type { Identity, ProjectAccess } from './identity.js';
import type { Permission } from './permissions.js';
import type { FalajApp } from './services.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission this route needs; mandatory on every route. */
    permission?: Permission;
    /**
     * For an `invoke` route: whether a request without a token may pass (a public deployment).
     * Synchronous and cheap: it runs before every anonymous request to the route.
     */
    anonymous?: (req: FastifyRequest) => boolean;
  }
  interface FastifyRequest {
    identity: Identity | null;
    /** Set for project-scoped routes: the addressed project and the caller's role in it. */
    project: ProjectAccess | null;
    /** True once the handler has written its own audit event. */
    audited: boolean;
  }
}

/** A route as registered: kept so that tests can walk every route against every role. */
export interface RegisteredRoute {
  method: string;
  url: string;
  permission: Permission;
}

export function bearerOf(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new FalajError('FALAJ_UNAUTHENTICATED', 'Authorization header must be "Bearer <token>"');
  return m[1];
}

/**
 * The project a project-scoped route addresses: the `:project` URL parameter, else the
 * X-Falaj-Project header (for APIs whose URLs carry no project, like MLflow's); a project API
 * token with neither addresses its own project.
 */
function projectParam(req: FastifyRequest): string | undefined {
  const params = req.params as Record<string, unknown> | undefined;
  const value = params?.project;
  if (typeof value === 'string') return value;
  const header = req.headers['x-falaj-project'];
  return typeof header === 'string' && header ? header : undefined;
}

/**
 * The access policy the guard applies. The request kit owns the mechanism (every route
 * declares a permission; hooks run before the body is parsed); the security module owns the
 * policy (security/access/guard.ts), and server/ hands one to the other.
 */
export interface AccessPolicy {
  /** Who presents this bearer token; throws FALAJ_UNAUTHENTICATED when nobody does. */
  identify(bearer: string, permission: Permission): Promise<Identity>;
  /** May `identity` use a route that declares `permission`? Throws 401/403; returns the project. */
  authorize(
    identity: Identity | null,
    permission: Permission,
    projectName: string | undefined,
  ): Promise<ProjectAccess | null>;
  /** Narrows further once the body is parsed (a job's token names its run in the body). */
  afterParse(req: FastifyRequest): Promise<void>;
  /**
   * A caller this policy admitted to `invoke` on the project moments ago, answered from memory
   * (no query); undefined when it does not know (the caller then goes through the hooks).
   */
  knownInvoker?(bearer: string, project: string, deployment: string): Identity | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The policy's `knownInvoker` (for serving's fast path, http/raw-handlers.ts). */
    knownInvoker(bearer: string, project: string, deployment: string): Identity | undefined;
  }
}

export function installGuard(app: FalajApp, policy: AccessPolicy, routes: RegisteredRoute[]): void {
  app.decorateRequest('identity', null);
  app.decorateRequest('project', null);
  app.decorateRequest('audited', false);
  app.decorate('knownInvoker', (bearer: string, project: string, deployment: string) =>
    policy.knownInvoker?.(bearer, project, deployment),
  );

  // Deny by default: a route that does not say what it needs cannot be registered at all.
  app.addHook('onRoute', (route: RouteOptions) => {
    const permission = route.config?.permission;
    if (!permission) {
      throw new Error(
        `route ${String(route.method)} ${route.url} declares no permission (config.permission)`,
      );
    }
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url, permission });
    }
  });

  // Authentication and authorisation run before the body is parsed: an unauthorised caller
  // never reaches validation, so it learns nothing about the route's schema.
  app.addHook('onRequest', async (req) => {
    const permission = req.routeOptions.config.permission ?? 'public';
    const bearer = bearerOf(req);
    if (bearer) req.identity = await policy.identify(bearer, permission);
    else if (permission === 'invoke' && req.routeOptions.config.anonymous?.(req)) return;
    req.project = await policy.authorize(req.identity, permission, projectParam(req));
  });
  app.addHook('preHandler', async (req) => policy.afterParse(req));
}
