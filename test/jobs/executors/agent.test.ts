// The agent executor against the conformance suite: the server's side (AgentExecutor over a
// real store) and an agent (AgentLoop with a LocalExecutor on this machine) in one process,
// joined by a transport that calls the protocol's server functions directly instead of HTTP
// (the HTTP path is covered end to end by test/cli/jobs-agent.test.ts). The suite's placements
// name node 'any'; the adapter below places them on the one agent.

import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll } from 'vitest';
import { blobToFile } from '../../../src/artifacts/blob-file.js';
import type { Services } from '../../../src/http/services.js';
import type { AgentTransport } from '../../../src/jobs/agent/protocol.js';
import { appendLiveLog } from '../../../src/jobs/agent/server/agent-live-log.js';
import {
  agentHeartbeat,
  attemptCodeDigest,
  registerAgent,
  storeAgentLog,
} from '../../../src/jobs/agent/server/agent-store.js';
import { AgentLoop } from '../../../src/jobs/agent/worker/agent-loop.js';
import { AgentExecutor } from '../../../src/jobs/executors/agent.js';
import { LocalExecutor } from '../../../src/jobs/executors/local.js';
import { resolveSandbox } from '../../../src/jobs/sandbox/sandbox-setup.js';
import type { Executor, LaunchRequest } from '../../../src/jobs/types.js';
import { createTestContext, type TestContext } from '../../support/app.js';
import { conformanceWorkRoot, executorConformance } from './conformance.js';

// The agent's own folder (what `falaj agent --work-dir` names): hidden from its jobs.
const dataDir = conformanceWorkRoot('falaj-agent-exec-');
const root = path.join(dataDir, 'attempts');

function directTransport(svc: Services): AgentTransport {
  return {
    register: (body) =>
      svc.store.db
        .transaction()
        .execute((t) => registerAgent(svc, t, 'admin', null, body.name, body.capacity)),
    heartbeat: (id, body) => agentHeartbeat(svc, id, body),
    uploadLog: async (id, externalId, log) => {
      await svc.store.db
        .transaction()
        .execute((t) => storeAgentLog(svc, t, id, externalId, Readable.from(log), 'admin'));
    },
    appendLog: (id, externalId, offset, bytes) => appendLiveLog(svc, id, externalId, offset, bytes),
    downloadCode: async (id, externalId, file) => {
      await blobToFile(svc, await attemptCodeDigest(svc, id, externalId), file);
    },
  };
}

interface Setup {
  ctx: TestContext;
  loop: AgentLoop;
  agentId: string;
}
let setup: Promise<Setup> | undefined;
const ready = () => {
  setup ??= (async () => {
    const ctx = await createTestContext('sqlite');
    const loop = new AgentLoop({
      transport: directTransport(ctx.svc),
      executor: new LocalExecutor({
        stateDir: path.join(dataDir, 'agent-state'),
        timeoutGraceSeconds: 1,
        sandbox: resolveSandbox({ hidden: [dataDir] }),
      }),
      name: 'conformance-agent',
      capacity: { cpu: 4, memory: 8 * 1024 ** 3, gpus: {} },
      // Same machine: the attempt runs where the suite looks for its files.
      workDirFor: (req) => req.workDir,
      heartbeatMs: 100,
    });
    return { ctx, loop, agentId: await loop.start() };
  })();
  return setup;
};

/** The server's AgentExecutor, with the suite's placements put on the running agent. */
class AgentUnderTest implements Executor {
  readonly kind = 'agent' as const;
  #inner: Promise<AgentExecutor> = ready().then((s) => new AgentExecutor(s.ctx.svc));
  get capabilities() {
    return { gpus: true, multiNode: false, arrays: false, liveLogs: true, seesServerDisk: false };
  }
  async discover() {
    return (await this.#inner).discover();
  }
  async start(req: LaunchRequest) {
    const { agentId } = await ready();
    return (await this.#inner).start({
      ...req,
      placements: req.placements.map((p) => ({ ...p, nodeId: agentId })),
    });
  }
  async status(id: string) {
    return (await this.#inner).status(id);
  }
  async cancel(id: string, opts: { graceSeconds: number }) {
    return (await this.#inner).cancel(id, opts);
  }
  async *logs(id: string, opts?: { follow?: boolean }) {
    yield* (await this.#inner).logs(id, opts);
  }
  async close() {}
}

executorConformance({
  name: 'agent',
  create: () => new AgentUnderTest(),
  workRoot: root,
  dataDir,
  unknownExternalId: 'agent-0000000000000000.0000000000000000',
});

afterAll(async () => {
  if (!setup) return;
  const { ctx, loop } = await setup;
  // The suite's last cancels reach the agent with its next heartbeats.
  await sleep(500);
  await loop.stop();
  await ctx.close();
});
