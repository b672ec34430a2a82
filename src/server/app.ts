import { randomUUID } from 'node:crypto';
import type { ServerOptions as HttpsOptions } from 'node:https';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController } from 'fastify';
import { artifactRoutes } from '../artifacts/artifact-routes.js';
import type { Logger } from '../core/logger.js';
import { VERSION } from '../core/version.js';
import { dataRoutes } from '../data/data-routes.js';
import { agentAdminRoutes } from '../jobs/agent-admin-routes.js';
import { agentRoutes } from '../jobs/agent-routes.js';
import { installJobMetrics } from '../jobs/job-metrics.js';
import { jobRoutes } from '../jobs/job-routes.js';
import { projectRoutes } from '../projects/project-routes.js';
import { auditRoutes } from '../security/audit-routes.js';
import { authRoutes } from '../security/auth-routes.js';
import { mfaRoutes } from '../security/mfa-routes.js';
import { secretRoutes } from '../security/secret-routes.js';
import { tokenRoutes } from '../security/token-routes.js';
import { userRoutes } from '../security/user-routes.js';
import { mlflowRoutes } from '../tracking/mlflow-routes.js';
import { trackingV1Routes } from '../tracking/v1-routes.js';
import { trainingRoutes } from '../training/training-routes.js';
import { installAuditFallback } from './audit-hooks.js';
import { installAuth, type RegisteredRoute } from './auth-hooks.js';
import { installErrorHandler } from './error-handler.js';
import { installMetrics } from './metrics.js';
import type { FalajApp, Services } from './services.js';
import { systemRoutes } from './system-routes.js';
import { validatorCompiler } from './validators.js';

export interface AppOptions {
  logger?: Logger | false;
  https?: HttpsOptions | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Assembles the HTTP app: cross-cutting hooks first, then each domain's routes. */
export async function buildApp(
  svc: Services,
  opts: AppOptions = {},
): Promise<FalajApp & { falajRoutes: RegisteredRoute[] }> {
  const app = Fastify({
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
    ...(opts.https ? { https: opts.https } : {}),
    // Idle keep-alive sockets are closed on shutdown; requests in flight are finished first.
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FalajApp;

  app.setValidatorCompiler(validatorCompiler);
  const routes: RegisteredRoute[] = [];
  app.addHook('onSend', async (req, reply, payload) => {
    void reply.header('x-request-id', String(req.id));
    if (opts.https) void reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
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
  installAuth(app, svc, routes);
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
  await authRoutes(app, svc);
  await mfaRoutes(app, svc);
  await userRoutes(app, svc);
  await projectRoutes(app, svc);
  await tokenRoutes(app, svc);
  await auditRoutes(app, svc);
  await artifactRoutes(app, svc);
  await mlflowRoutes(app, svc);
  await trackingV1Routes(app, svc);
  await trainingRoutes(app, svc);
  await jobRoutes(app, svc);
  await agentRoutes(app, svc);
  await agentAdminRoutes(app, svc);
  await secretRoutes(app, svc);
  installJobMetrics(svc, metrics);
  await dataRoutes(app, svc);

  return Object.assign(app, { falajRoutes: routes });
}
