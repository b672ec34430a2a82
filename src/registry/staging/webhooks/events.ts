// Registry events for webhooks. The listener runs on the registry's event bus, inside the
// transaction of the change an event announces (a version registered, a promotion requested or
// decided, an alias moved): one delivery row per subscribed webhook, so the event is delivered
// if and only if the change committed. The dispatcher (dispatcher.ts) sends them afterwards.
import { createHmac, randomBytes } from 'node:crypto';
import { newId } from '../../../core/ids.js';
import { getProject } from '../../../projects/projects.js';
import type { Executor } from '../../../store/executor.js';
import type { RegistryListener } from '../../events.js';
import { insertDeliveries, subscribers, WEBHOOK_EVENTS, type WebhookEvent } from './webhook-store.js';

export const SIGNATURE_HEADER = 'X-Falaj-Signature-256';
export const EVENT_HEADER = 'X-Falaj-Event';
export const DELIVERY_HEADER = 'X-Falaj-Delivery';

/** The body every receiver gets: the event, when, which project, and the event's own data. */
export interface EventPayload {
  id: string;
  event: WebhookEvent;
  occurredAt: string;
  project: string;
  data: Record<string, unknown>;
}

/** Enqueues `event` for every active webhook of the project that subscribes to it. */
export async function emitEvent(
  tx: Executor,
  p: {
    projectId: string;
    projectName: string;
    event: WebhookEvent;
    data: Record<string, unknown>;
    now: number;
  },
): Promise<number> {
  const hooks = await subscribers(tx, p.projectId, p.event);
  if (hooks.length === 0) return 0;
  const payload: EventPayload = {
    id: newId(),
    event: p.event,
    occurredAt: new Date(p.now).toISOString(),
    project: p.projectName,
    data: p.data,
  };
  const body = JSON.stringify(payload);
  await insertDeliveries(
    tx,
    hooks.map((h) => ({
      id: newId(),
      webhook_id: h.id,
      event: p.event,
      payload: body,
      state: 'pending',
      attempts: 0,
      next_attempt_at: p.now,
      last_status: null,
      last_error: null,
      created_at: p.now,
      delivered_at: null,
    })),
  );
  return hooks.length;
}

/** The bus listener: every registry event a webhook can subscribe to is enqueued. */
export const webhookListener: RegistryListener = async (tx, e) => {
  if (!(WEBHOOK_EVENTS as readonly string[]).includes(e.event)) return;
  const hooks = await subscribers(tx, e.projectId, e.event as WebhookEvent);
  if (hooks.length === 0) return;
  const project = await getProject(tx, e.projectId);
  await emitEvent(tx, {
    projectId: e.projectId,
    projectName: project.name,
    event: e.event as WebhookEvent,
    data: e.payload,
    now: e.at,
  });
};

/** `sha256=<hex>` of HMAC-SHA256(secret, body), as GitHub signs its webhooks. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** A new webhook secret: 256 random bits. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** Binds a sealed webhook secret to its project and webhook: moved to another row, it does not open. */
export function webhookSecretContext(projectId: string, webhookId: string): string {
  return `webhook-secret|${projectId}|${webhookId}`;
}
