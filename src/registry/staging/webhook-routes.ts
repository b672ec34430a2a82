// A project's registry webhooks (admin): receivers, their delivery logs, redelivery.
import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp, Services } from '../../http/services.js';
import { IdParams, Json, ProjectParams, TAGS, WEBHOOKS } from './route-schemas.js';
import { createWebhook, removeWebhook, retryDelivery, updateWebhook } from './webhooks/webhook-service.js';
import {
  deliveryView,
  getWebhook,
  listDeliveries,
  listWebhooks,
  WEBHOOK_EVENTS,
  type WebhookEvent,
  webhookView,
} from './webhooks/webhook-store.js';

const Event = Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e)));

export async function webhookRoutes(app: FalajApp, svc: Services): Promise<void> {
  const db = () => svc.store.db;

  app.post(
    WEBHOOKS,
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: TAGS,
        summary:
          'Add a webhook: registry events POSTed as JSON signed with HMAC-SHA256 (X-Falaj-Signature-256: sha256=<hex>); without `secret` one is made and returned once',
        params: ProjectParams,
        body: Type.Object(
          {
            url: Type.String({ minLength: 1, maxLength: 2048 }),
            events: Type.Optional(Type.Array(Event, { minItems: 1, maxItems: WEBHOOK_EVENTS.length })),
            secret: Type.Optional(Type.String({ minLength: 16, maxLength: 512 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Json },
      },
    },
    async (req, reply) => {
      const { url, events, secret } = req.body;
      const out = await createWebhook(svc, req, req.project!, {
        url,
        ...(events ? { events: events as WebhookEvent[] } : {}),
        ...(secret !== undefined ? { secret } : {}),
      });
      return reply.status(201).send(out);
    },
  );

  app.get(
    WEBHOOKS,
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: TAGS,
        summary: "The project's webhooks (never their secrets)",
        params: ProjectParams,
        response: { 200: Json },
      },
    },
    async (req) => ({ webhooks: (await listWebhooks(db(), req.project!.id)).map(webhookView) }),
  );

  app.patch(
    `${WEBHOOKS}/:id`,
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: TAGS,
        summary: 'Pause or resume a webhook',
        params: IdParams,
        body: Type.Object({ active: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: Json },
      },
    },
    async (req) => updateWebhook(svc, req, req.project!, req.params.id, req.body.active),
  );

  app.delete(
    `${WEBHOOKS}/:id`,
    {
      config: { permission: 'project:admin' },
      schema: { tags: TAGS, summary: 'Remove a webhook and its delivery log', params: IdParams },
    },
    async (req, reply) => {
      await removeWebhook(svc, req, req.project!, req.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    `${WEBHOOKS}/:id/deliveries`,
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: TAGS,
        summary:
          "The webhook's delivery log, newest first: each event's state, attempts, last HTTP status and error",
        params: IdParams,
        querystring: Type.Object(
          {
            state: Type.Optional(
              Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const hook = await getWebhook(db(), req.project!.id, req.params.id);
      const rows = await listDeliveries(db(), hook.id, {
        limit: req.query.limit ?? 100,
        ...(req.query.state ? { state: req.query.state } : {}),
      });
      return { deliveries: rows.map(deliveryView) };
    },
  );

  app.post(
    `${WEBHOOKS}/:id/deliveries/:delivery/redeliver`,
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: TAGS,
        summary: 'Queue a delivery that was given up for another round of attempts',
        params: Type.Object({
          project: ProjectParams.properties.project,
          id: IdParams.properties.id,
          delivery: IdParams.properties.id,
        }),
        response: { 200: Json },
      },
    },
    async (req) => retryDelivery(svc, req, req.project!, req.params.id, req.params.delivery),
  );
}
