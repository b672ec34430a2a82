import { Type } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import { FalajError } from '../core/errors.js';
import type { FalajApp, Services } from '../http/services.js';

export async function systemRoutes(app: FalajApp, svc: Services, metrics: Registry): Promise<void> {
  app.get(
    '/healthz',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Liveness',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Readiness: the metadata store answers',
        response: { 200: Type.Object({ status: Type.Literal('ready'), store: Type.String() }) },
      },
    },
    async () => {
      try {
        await svc.store.ping();
      } catch {
        throw new FalajError('FALAJ_STORE_UNAVAILABLE', 'the metadata store does not answer');
      }
      return { status: 'ready' as const, store: svc.store.dialect.name };
    },
  );
  app.get(
    '/metrics',
    {
      config: { permission: 'public' },
      schema: { tags: ['system'], summary: 'Prometheus metrics (text format)', hide: false },
    },
    async (_req, reply) => {
      void reply.header('content-type', metrics.contentType);
      return metrics.metrics();
    },
  );
  app.get(
    '/api/openapi.json',
    {
      config: { permission: 'public' },
      schema: { tags: ['system'], summary: 'This API as an OpenAPI 3 document' },
    },
    async () => app.swagger(),
  );
}
