// A project's webhooks: an admin adds a receiver (its URL, the events it wants, and an HMAC key
// given or generated, shown once and stored sealed by the keyring), lists them, reads a
// receiver's delivery log, retries a delivery that was given up, and removes receivers.
import type { FastifyRequest } from 'fastify';
import { FalajError } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import { audited } from '../../../http/audited.js';
import type { ProjectAccess } from '../../../http/identity.js';
import type { Services } from '../../../http/services.js';
import { newWebhookSecret, webhookSecretContext } from './events.js';
import {
  deleteWebhook,
  getWebhook,
  insertWebhook,
  requeueDelivery,
  setWebhookActive,
  WEBHOOK_EVENTS,
  type WebhookEvent,
  webhookView,
} from './webhook-store.js';

/** An http(s) URL without credentials in it. */
export function checkWebhookUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `'${url.slice(0, 200)}' is not a URL`, { field: 'url' });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'a webhook URL must be http:// or https://', {
      field: 'url',
    });
  if (u.username || u.password)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      'a webhook URL must not carry credentials: the signature authenticates',
      {
        field: 'url',
      },
    );
  return u.toString();
}

export async function createWebhook(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  input: { url: string; events?: WebhookEvent[]; secret?: string },
) {
  const url = checkWebhookUrl(input.url);
  const events = [...new Set(input.events ?? WEBHOOK_EVENTS)];
  const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length > 0 || events.length === 0)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `webhook events must be among ${WEBHOOK_EVENTS.join(', ')}`,
      {
        field: 'events',
        unknown,
      },
    );
  const generated = input.secret === undefined;
  const secret = input.secret ?? newWebhookSecret();
  const id = newId();
  return audited(
    svc,
    req,
    async (tx) => {
      const row = {
        id,
        project_id: project.id,
        url,
        events: JSON.stringify(events),
        secret: svc.keyring.wrap(Buffer.from(secret, 'utf8'), webhookSecretContext(project.id, id)),
        active: 1,
        created_at: svc.clock.now(),
        created_by: req.identity!.username,
      };
      await insertWebhook(tx, row);
      return {
        // The secret is returned once, only when Falaj made it.
        result: { ...webhookView(row), ...(generated ? { secret } : {}) },
        audit: {
          action: 'model.webhook.create',
          objectType: 'webhook',
          objectId: id,
          projectId: project.id,
          details: { url, events, secretGenerated: generated },
        },
      };
    },
    201,
  );
}

export async function updateWebhook(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  id: string,
  active: boolean,
) {
  const hook = await getWebhook(svc.store.db, project.id, id);
  return audited(svc, req, async (tx) => {
    await setWebhookActive(tx, id, active);
    return {
      result: { ...webhookView(hook), active },
      audit: {
        action: 'model.webhook.update',
        objectType: 'webhook',
        objectId: id,
        projectId: project.id,
        details: { active },
      },
    };
  });
}

export async function removeWebhook(svc: Services, req: FastifyRequest, project: ProjectAccess, id: string) {
  const hook = await getWebhook(svc.store.db, project.id, id);
  await audited(svc, req, async (tx) => {
    await deleteWebhook(tx, id);
    return {
      result: undefined,
      audit: {
        action: 'model.webhook.delete',
        objectType: 'webhook',
        objectId: id,
        projectId: project.id,
        details: { url: hook.url },
      },
    };
  });
}

export async function retryDelivery(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  webhookId: string,
  deliveryId: string,
) {
  await getWebhook(svc.store.db, project.id, webhookId);
  return audited(svc, req, async (tx) => {
    if (!(await requeueDelivery(tx, webhookId, deliveryId, svc.clock.now())))
      throw new FalajError(
        'FALAJ_CONFLICT',
        `delivery '${deliveryId}' is not a failed delivery of this webhook`,
        {
          delivery: deliveryId,
        },
      );
    return {
      result: { id: deliveryId, state: 'pending' as const },
      audit: {
        action: 'model.webhook.redeliver',
        objectType: 'webhook',
        objectId: webhookId,
        projectId: project.id,
        details: { delivery: deliveryId },
      },
    };
  });
}
