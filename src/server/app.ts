import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https, { type ServerOptions as HttpsOptions } from 'node:https';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController } from 'fastify';
import type { Logger } from '../core/logger.js';
import { VERSION } from '../core/version.js';
import { installAuditFallback } from '../http/audit-fallback.js';
import { installErrorHandler } from '../http/error-handler.js';
import { installGuard, type RegisteredRoute } from '../http/guard.js';
import type { FalajModule, ModuleContext, ModuleRuntime } from '../http/module.js';
import type { RawHandler } from '../http/raw-handlers.js';
import type { FalajApp, Services } from '../http/services.js';
import { validatorCompiler } from '../http/validators.js';
import { accessPolicy } from '../security/access/guard.js';
import { installMetrics } from './metrics.js';
import { MODULES } from './modules.js';
import { systemRoutes } from './system-routes.js';

export interface AppOptions {
  logger?: Logger | false;
  https?: HttpsOptions | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Assembles the HTTP app: cross-cutting hooks first, then each domain's routes. */
export async function buildApp(
  svc: Services,
  opts: AppOptions = {},
): Promise<FalajApp & { falajRoutes: RegisteredRoute[]; startModules(url: string): Promise<void> }> {
  // Handlers that may answer a raw request before Fastify (http/raw-handlers.ts).
  const rawHandlers: RawHandler[] = [];
  const app = Fastify({
    serverFactory: (handler, options) => {
      const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
        for (const raw of rawHandlers) if (raw(req, res)) return;
        handler(req, res);
      };
      const server = opts.https ? https.createServer(opts.https, listener) : http.createServer(listener);
      // What Fastify sets on the servers it makes itself (a factory's server gets none of it:
      // without it, idle keep-alive sockets close after Node's 5 s instead of Fastify's 72 s).
      const o = options as {
        keepAliveTimeout?: number;
        requestTimeout?: number;
        connectionTimeout?: number;
        maxRequestsPerSocket?: number;
      };
      server.keepAliveTimeout = o.keepAliveTimeout ?? 72_000;
      server.requestTimeout = o.requestTimeout ?? 0;
      server.setTimeout(o.connectionTimeout ?? 0);
      if ((o.maxRequestsPerSocket ?? 0) > 0) server.maxRequestsPerSocket = o.maxRequestsPerSocket ?? null;
      return server;
    },
    loggerInstance: opts.logger || undefined,
    logger: opts.logger ? undefined : false,
    bodyLimit: svc.config.bodyLimitBytes,
    // A caller's X-Request-Id is kept when it is well formed, so a trace spans services.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    trustProxy: false,
    // One log line per request (written in onResponse below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Idle keep-alive sockets are closed on shutdown; requests in flight are finished first.
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FalajApp;

  app.setValidatorCompiler(validatorCompiler);
  app.decorate('addRawHandler', (raw: RawHandler) => {
    rawHandlers.push(raw);
  });
  const routes: RegisteredRoute[] = [];
  app.addHook('onSend', async (req, reply, payload) => {
    void reply.header('x-request-id', String(req.id));
    if (opts.https) void reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    // Inference is recorded in serving's request log and metrics; a log line per prediction
    // would cost more than the prediction.
    if (req.routeOptions.config?.permission === 'invoke') return;
    req.log.info(
      {
        method: req.method,
        url: req.url,
        status: reply.statusCode,
        ms: Number(reply.elapsedTime.toFixed(2)),
      },
      'request',
    );
  });
  installErrorHandler(app);
  installGuard(app, accessPolicy(svc), routes);
  const metrics = installMetrics(app);
  installAuditFallback(app, svc);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Falaj', version: VERSION, description: 'Falaj MLOps platform API' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  await systemRoutes(app, svc, metrics);
  let url: string | undefined;
  const context: ModuleContext = { svc, metrics, serverUrl: () => url };
  const runtimes = new Map<string, ModuleRuntime>();
  for (const module of MODULES) runtimes.set(module.name, await module.register(app, context));
  app.decorate('falajModule', <R extends ModuleRuntime>(module: FalajModule<R>): R => {
    const runtime = runtimes.get(module.name);
    if (!runtime) throw new Error(`module '${module.name}' is not in this app`);
    return runtime as R;
  });
  app.addHook('onClose', async () => {
    for (const runtime of [...runtimes.values()].reverse()) await runtime.stop?.();
  });
  /** Once the server listens at `listenUrl`: its modules' background work starts. */
  const startModules = async (listenUrl: string) => {
    url = listenUrl;
    for (const runtime of runtimes.values()) await runtime.start?.();
  };

  return Object.assign(app, { falajRoutes: routes, startModules });
}
