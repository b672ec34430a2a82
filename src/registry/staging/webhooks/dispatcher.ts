// Delivers pending webhook deliveries: a background loop owned by the registry module's
// runtime (started after the server listens, stopped when it closes). Each due delivery is
// claimed with a conditional update (another server, or a slow earlier pass, cannot send it
// twice at once), POSTed with its HMAC signature, and then marked delivered, or retried with
// exponential backoff, or given up after the last attempt. The delivery log is the table.
import type { Logger } from 'pino';
import { VERSION } from '../../../core/version.js';
import type { Services } from '../../../http/services.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody, webhookSecretContext } from './events.js';
import { claimDelivery, dueDeliveries, recordAttempt } from './webhook-store.js';

export interface DispatcherOptions {
  /** How often the loop looks for due deliveries. Default 1 s. */
  intervalMs?: number;
  /** The first retry waits this long, each next one twice as long. Default 10 s. */
  baseDelayMs?: number;
  /** The longest wait between two attempts. Default 1 h. */
  maxDelayMs?: number;
  /** Attempts before a delivery is given up (state failed). Default 8. */
  maxAttempts?: number;
  /** A receiver that has not answered after this long fails the attempt. Default 10 s. */
  timeoutMs?: number;
  /** Deliveries taken per pass. Default 20. */
  batch?: number;
}

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly o: Required<DispatcherOptions>;

  constructor(
    private readonly svc: Services,
    options: DispatcherOptions = {},
    private readonly log?: Pick<Logger, 'warn'>,
  ) {
    this.o = {
      intervalMs: options.intervalMs ?? 1000,
      baseDelayMs: options.baseDelayMs ?? 10_000,
      maxDelayMs: options.maxDelayMs ?? 3_600_000,
      maxAttempts: options.maxAttempts ?? 8,
      timeoutMs: options.timeoutMs ?? 10_000,
      batch: options.batch ?? 20,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pass()
        .then(() => undefined)
        .catch((err: unknown) => this.log?.warn({ err }, 'webhook dispatch pass failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** The wait after `attempts` failed attempts. */
  backoff(attempts: number): number {
    return Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  }

  /** One pass: sends every due delivery (tests call it directly). Returns how many were attempted. */
  async pass(): Promise<number> {
    const { svc } = this;
    const db = svc.store.db;
    const due = await dueDeliveries(db, svc.clock.now(), this.o.batch);
    let attempted = 0;
    await Promise.all(
      due.map(async (d) => {
        const now = svc.clock.now();
        // The claim outlasts one attempt's timeout: a crashed sender's delivery becomes due again.
        if (!(await claimDelivery(db, d.id, Number(d.next_attempt_at), now + this.o.timeoutMs * 3))) return;
        attempted++;
        const attempts = Number(d.attempts) + 1;
        let status: number | null = null;
        let error: string | null = null;
        let secret = '';
        try {
          secret = svc.keyring
            .unwrap(d.secret, webhookSecretContext(d.project_id, d.webhook_id))
            .toString('utf8');
        } catch (err) {
          error = `cannot open the webhook's secret: ${(err as Error).message}`;
        }
        if (error === null)
          try {
            const res = await fetch(d.url, {
              method: 'POST',
              redirect: 'manual',
              signal: AbortSignal.timeout(this.o.timeoutMs),
              headers: {
                'content-type': 'application/json',
                'user-agent': `Falaj-Webhook/${VERSION}`,
                [SIGNATURE_HEADER]: signBody(secret, d.payload),
                [EVENT_HEADER]: d.event,
                [DELIVERY_HEADER]: d.id,
              },
              body: d.payload,
            });
            status = res.status;
            await res.body?.cancel().catch(() => {});
            if (status < 200 || status >= 300) error = `the receiver answered HTTP ${status}`;
          } catch (err) {
            error =
              `${(err as Error).name === 'TimeoutError' ? 'timed out' : 'cannot reach the receiver'}: ${(err as Error).message}`.slice(
                0,
                1000,
              );
          }
        const at = svc.clock.now();
        if (error === null) {
          await recordAttempt(db, d.id, {
            state: 'delivered',
            attempts,
            nextAttemptAt: at,
            status,
            error: null,
            deliveredAt: at,
          });
        } else {
          const giveUp = attempts >= this.o.maxAttempts;
          await recordAttempt(db, d.id, {
            state: giveUp ? 'failed' : 'pending',
            attempts,
            nextAttemptAt: giveUp ? at : at + this.backoff(attempts),
            status,
            error,
            deliveredAt: null,
          });
        }
      }),
    );
    return attempted;
  }
}
