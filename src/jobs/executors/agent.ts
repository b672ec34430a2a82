// The agent executor: attempts run on `falaj agent` processes on other machines, which register
// and pull work over HTTP (src/jobs/agent/server/agent-routes.ts). This side only reads and writes the
// database: start() records an assignment for the agent the scheduler placed the job on, the
// agent's heartbeats report states back, and an agent whose lease lapsed has its attempts lost.
import { setTimeout as sleep } from 'node:timers/promises';
import { FalajError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { Services } from '../../http/services.js';
import { readLiveLog } from '../agent/server/agent-live-log.js';
import { getAgent, leaseLive, nodeOf, sealRequest, statusOfRow } from '../agent/server/agent-store.js';
import {
  ATTEMPT_ENDED_STATES,
  type AttemptStatus,
  type Executor,
  type ExecutorCapabilities,
  type LaunchRequest,
  type NodeCapacity,
} from '../types.js';

const CAPABILITIES: ExecutorCapabilities = {
  gpus: true,
  multiNode: false,
  arrays: false,
  liveLogs: true,
  seesServerDisk: false,
};

export class AgentExecutor implements Executor {
  readonly kind = 'agent' as const;
  readonly capabilities = CAPABILITIES;

  constructor(private readonly svc: Services) {}

  async discover(): Promise<NodeCapacity[]> {
    const now = this.svc.clock.now();
    const agents = await this.svc.store.db
      .selectFrom('agents')
      .selectAll()
      .where('lease_expires_at', '>', now)
      .orderBy('created_at')
      .execute();
    // A draining agent (shutting down) finishes what it runs but is offered nothing new.
    return agents.map(nodeOf).filter((n) => n.labels?.draining !== 'true');
  }

  async start(req: LaunchRequest): Promise<{ externalId: string }> {
    const nodeId = req.placements[0]?.nodeId;
    if ((req.spec.distributed?.nodes ?? 1) !== 1)
      throw new FalajError('FALAJ_INVALID_ARGUMENT', 'the agent executor runs each job on one agent');
    const agent = nodeId ? await getAgent(this.svc, nodeId) : undefined;
    if (!agent || !leaseLive(this.svc, agent))
      throw new FalajError('FALAJ_NOT_FOUND', `no live agent '${nodeId ?? ''}' to run the attempt`);
    const externalId = `${agent.id}.${newId().slice(0, 16)}`;
    await this.svc.store.db
      .insertInto('agent_attempts')
      .values({
        external_id: externalId,
        agent_id: agent.id,
        job_id: req.jobId,
        attempt: req.attempt,
        // Holds the attempt's FALAJ_TOKEN and resolved secrets: sealed, opened only to send it.
        request: sealRequest(this.svc, externalId, req),
        state: 'pending',
        exit_code: null,
        signal: null,
        reason: null,
        cancel_requested: 0,
        cancel_grace_seconds: null,
        log_digest: null,
        updated_at: this.svc.clock.now(),
      })
      .execute();
    return { externalId };
  }

  async status(externalId: string): Promise<AttemptStatus> {
    const row = await this.#row(externalId);
    return statusOfRow(this.svc, row, await getAgent(this.svc, row.agent_id));
  }

  /** Delivered with the agent's next heartbeat; the agent does SIGTERM, grace, SIGKILL. */
  async cancel(externalId: string, opts: { graceSeconds: number }): Promise<void> {
    const row = await this.#row(externalId);
    if (ATTEMPT_ENDED_STATES.has(row.state)) return;
    await this.svc.store.db
      .updateTable('agent_attempts')
      .set({ cancel_requested: 1, cancel_grace_seconds: Math.max(0, Math.round(opts.graceSeconds)) })
      .where('external_id', '=', externalId)
      .where('cancel_requested', '=', 0)
      .execute();
  }

  /**
   * What the agent shipped while the attempt runs, then the whole log it uploaded at the end
   * (from where the live part left off); `follow` keeps reading until then.
   */
  async *logs(externalId: string, opts?: { follow?: boolean }): AsyncIterable<Uint8Array> {
    let sent = 0;
    for (;;) {
      const row = await this.#row(externalId);
      const s = statusOfRow(this.svc, row, await getAgent(this.svc, row.agent_id));
      const ended = s.state !== 'pending' && s.state !== 'running';
      // The agent uploads the log before it reports the end, so an ended row has it (if any).
      if (ended && row.log_digest) {
        let skip = sent;
        for await (const chunk of await this.svc.artifacts.get(row.log_digest)) {
          const bytes = chunk as Uint8Array;
          if (skip < bytes.length) yield bytes.subarray(skip);
          skip = Math.max(0, skip - bytes.length);
        }
        return;
      }
      for await (const chunk of readLiveLog(this.svc, externalId, sent)) {
        sent += chunk.length;
        yield chunk;
      }
      if (ended || !opts?.follow) return;
      await sleep(500);
    }
  }

  async close(): Promise<void> {
    // Nothing held: the state is in the database.
  }

  async #row(externalId: string) {
    const row = await this.svc.store.db
      .selectFrom('agent_attempts')
      .selectAll()
      .where('external_id', '=', externalId)
      .executeTakeFirst();
    if (!row) throw new FalajError('FALAJ_NOT_FOUND', `no agent attempt '${externalId}'`);
    return row;
  }
}
