// The staging step of the registry, as one plugin of the registry module: its routes
// (evaluations, gates, promotions, webhooks, model cards), the webhook listener on the
// registry's event bus, and the webhook dispatcher, which runs while the server does.
import type { ModuleRuntime } from '../../http/module.js';
import type { FalajApp } from '../../http/services.js';
import type { RegistryContext } from '../registry-service.js';
import { cardRoutes } from './card-routes.js';
import { evaluationRequestRoutes } from './evaluation-request-routes.js';
import { evaluationRoutes } from './evaluation-routes.js';
import { gateRoutes } from './gate-routes.js';
import { promotionRoutes } from './promotion-routes.js';
import { webhookRoutes } from './webhook-routes.js';
import { type DispatcherOptions, WebhookDispatcher } from './webhooks/dispatcher.js';
import { webhookListener } from './webhooks/events.js';

export interface StagingRuntime extends ModuleRuntime {
  /** Tests drive deliveries with `dispatcher.pass()`. */
  readonly dispatcher: WebhookDispatcher;
}

export async function stagingPlugin(
  app: FalajApp,
  ctx: RegistryContext,
  options: { dispatcher?: DispatcherOptions } = {},
): Promise<StagingRuntime> {
  const { svc } = ctx;
  ctx.events.on(webhookListener);
  await evaluationRoutes(app, svc);
  await evaluationRequestRoutes(app, svc);
  await gateRoutes(app, svc);
  await promotionRoutes(app, ctx);
  await webhookRoutes(app, svc);
  await cardRoutes(app, svc);
  const dispatcher = new WebhookDispatcher(svc, options.dispatcher ?? {}, app.log);
  return {
    dispatcher,
    start: () => dispatcher.start(),
    stop: () => dispatcher.stop(),
  };
}
