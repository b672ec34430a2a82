// What `falaj agent` does: registers its capacity, heartbeats, runs its assignments with a
// LocalExecutor on its own machine, reports their states, delivers cancels, and uploads each
// attempt's log when it ends (before reporting the end, so an ended attempt has its log).
import { setTimeout as sleep } from 'node:timers/promises';
import { materializeCode } from '../../code-snapshot.js';
import type { LocalExecutor } from '../../executors/local.js';
import { ATTEMPT_ENDED_STATES, type AttemptStatus, type LaunchRequest } from '../../types.js';
import type { AgentCapacity, AgentTransport, AttemptReport, HeartbeatResponse } from '../protocol.js';

export interface AgentLoopOptions {
  readonly transport: AgentTransport;
  readonly executor: LocalExecutor;
  readonly name: string;
  readonly capacity: AgentCapacity;
  /** Where an attempt runs on this machine (the server's workDir names a path on the server). */
  readonly workDirFor: (req: LaunchRequest) => string;
  /**
   * The server's URL as this agent reaches it: given to its attempts as FALAJ_URL, since the
   * address the server knows itself by (often loopback) may mean nothing on this machine.
   */
  readonly serverUrl?: string;
  /** Default 2000 ms. */
  readonly heartbeatMs?: number;
  /** Problems worth a line (a failed heartbeat or upload); the loop goes on. */
  readonly log?: (line: string) => void;
}

interface Held {
  localId?: string;
  status: AttemptStatus;
  cancelling?: boolean;
  /** Ships the log live while the attempt runs; settles once it has ended. */
  shipping?: Promise<void>;
}

/** How long an ended attempt's last live shipments may take before its whole log goes up anyway. */
const SHIPPING_SETTLE_MS = 10_000;

export class AgentLoop {
  #id: string | undefined;
  readonly #held = new Map<string, Held>();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #draining = false;

  constructor(private readonly opts: AgentLoopOptions) {}

  get id(): string | undefined {
    return this.#id;
  }

  /** Registers; heartbeats run from then on until stop(). */
  async start(): Promise<string> {
    const lease = await this.opts.transport.register({ name: this.opts.name, capacity: this.opts.capacity });
    this.#id = lease.id;
    this.kick();
    return lease.id;
  }

  /** A heartbeat now (an attempt changed state), not at the next tick. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#beating) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#beating = this.#beat()
      .catch((err: unknown) => this.opts.log?.(`heartbeat failed: ${(err as Error).message}`))
      .finally(() => {
        this.#beating = undefined;
        if (this.#stopped) return;
        if (this.#again) {
          this.#again = false;
          this.kick();
          return;
        }
        // Draining ends once every attempt has ended and been reported.
        if (this.#draining && this.#held.size === 0) {
          this.#stopped = true;
          this.#drained?.();
          return;
        }
        this.#timer = setTimeout(() => this.kick(), this.opts.heartbeatMs ?? 2000);
      });
  }

  #drained: (() => void) | undefined;

  /**
   * Stops taking work; running attempts are left alone and still reported until they end.
   * Resolves once they have all ended (the caller may exit sooner: they then run on unwatched).
   */
  drain(): Promise<void> {
    this.#draining = true;
    const done = new Promise<void>((resolve) => {
      this.#drained = resolve;
    });
    this.kick();
    return done;
  }

  /** Stops heartbeating at once; attempts keep running (their lease lapses on the server). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#beating;
  }

  async #beat(): Promise<void> {
    const id = this.#id;
    if (!id) return;
    const reports: AttemptReport[] = [];
    for (const [externalId, held] of this.#held) {
      if (held.localId && !ATTEMPT_ENDED_STATES.has(held.status.state)) {
        const status = await this.opts.executor
          .status(held.localId)
          .catch(
            (err: unknown): AttemptStatus => ({ state: 'lost', reason: `agent: ${(err as Error).message}` }),
          );
        if (ATTEMPT_ENDED_STATES.has(status.state)) {
          await Promise.race([held.shipping, sleep(SHIPPING_SETTLE_MS, undefined, { ref: false })]);
          await this.#upload(id, externalId, held.localId);
        }
        held.status = status;
      }
      reports.push({ externalId, ...held.status });
    }
    let res: HeartbeatResponse;
    try {
      res = await this.opts.transport.heartbeat(id, { attempts: reports, draining: this.#draining });
    } catch (err) {
      if ((err as { code?: string }).code === 'FALAJ_CONFLICT') return this.#leaseLost(err as Error);
      throw err;
    }
    // Ended attempts were recorded by the server with this heartbeat: no need to hold them.
    for (const r of reports) if (ATTEMPT_ENDED_STATES.has(r.state)) this.#held.delete(r.externalId);
    for (const c of res.cancels) this.#cancel(c.externalId, c.graceSeconds);
    for (const a of res.assignments) if (!this.#held.has(a.externalId)) this.#launch(a.externalId, a.request);
  }

  #launch(externalId: string, request: LaunchRequest): void {
    if (this.#draining) {
      this.#held.set(externalId, {
        status: { state: 'lost', reason: `agent ${this.opts.name} is shutting down` },
      });
      return;
    }
    const held: Held = { status: { state: 'pending' } };
    this.#held.set(externalId, held);
    const workDir = this.opts.workDirFor(request);
    const agentId = this.#id as string;
    // A code snapshot comes from the server's artifact store and is unpacked on this machine.
    const fetchCode = (_artifactPath: string, file: string) =>
      this.opts.transport.downloadCode(agentId, externalId, file);
    const env = this.opts.serverUrl ? { ...request.env, FALAJ_URL: this.opts.serverUrl } : request.env;
    materializeCode(request.spec, workDir, fetchCode)
      .then((spec) => this.opts.executor.start({ ...request, spec, env, workDir }))
      .then(
        ({ externalId: localId }) => {
          held.localId = localId;
          held.status = { state: 'running' };
          held.shipping = this.#ship(agentId, externalId, localId);
        },
        (err: unknown) => {
          held.status = { state: 'failed', reason: `could not start: ${(err as Error).message}` };
        },
      )
      .finally(() => this.kick());
  }

  #cancel(externalId: string, graceSeconds: number): void {
    const held = this.#held.get(externalId);
    if (!held) {
      // Cancelled before this agent took it: it never ran.
      this.#held.set(externalId, { status: { state: 'cancelled', reason: 'cancelled before it started' } });
      this.kick();
      return;
    }
    if (held.cancelling || !held.localId) return;
    held.cancelling = true;
    this.opts.executor
      .cancel(held.localId, { graceSeconds })
      .catch((err: unknown) => this.opts.log?.(`cancel ${externalId}: ${(err as Error).message}`))
      .finally(() => this.kick());
  }

  /**
   * Ships the attempt's log to the server as it is written, one piece at a time, until it ends
   * or the server wants no more. A failed shipment stops the live copy only: the whole log still
   * goes up when the attempt ends.
   */
  async #ship(agentId: string, externalId: string, localId: string): Promise<void> {
    let offset = 0;
    try {
      for await (const chunk of this.opts.executor.logs(localId, { follow: true })) {
        if (this.#stopped) return;
        const res = await this.opts.transport.appendLog(agentId, externalId, offset, chunk);
        offset += chunk.length;
        if (res.done) return;
      }
    } catch (err) {
      this.opts.log?.(`live log of ${externalId} stopped: ${(err as Error).message}`);
    }
  }

  async #upload(agentId: string, externalId: string, localId: string): Promise<void> {
    try {
      await this.opts.transport.uploadLog(agentId, externalId, this.opts.executor.logs(localId));
    } catch (err) {
      this.opts.log?.(`log upload for ${externalId} failed: ${(err as Error).message}`);
    }
  }

  /**
   * The server declared this agent lost (its lease lapsed while it was unreachable): its attempts
   * may already run elsewhere, so they are stopped, and the agent registers afresh.
   */
  async #leaseLost(err: Error): Promise<void> {
    this.opts.log?.(`${err.message}; stopping its attempts and registering again`);
    const stops = [...this.#held.values()]
      .filter((h) => h.localId && !ATTEMPT_ENDED_STATES.has(h.status.state))
      .map((h) => this.opts.executor.cancel(h.localId as string, { graceSeconds: 10 }).catch(() => {}));
    await Promise.all(stops);
    this.#held.clear();
    if (this.#draining) return;
    const lease = await this.opts.transport.register({ name: this.opts.name, capacity: this.opts.capacity });
    this.#id = lease.id;
  }
}
