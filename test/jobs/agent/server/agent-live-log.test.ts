// The live copy of an agent attempt's log: shipments are taken once each, in order, with no
// holes; a follower reads the live part and then the whole log from where it left off, with no
// byte missing or repeated; the live copy is capped and dropped once the whole log is kept.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFalajError } from '../../../../src/core/errors.js';
import {
  appendLiveLog,
  LIVE_LOG_CHUNK_MAX,
  LIVE_LOG_MAX,
  readLiveLog,
} from '../../../../src/jobs/agent/server/agent-live-log.js';
import {
  agentHeartbeat,
  registerAgent,
  storeAgentLog,
} from '../../../../src/jobs/agent/server/agent-store.js';
import { AgentExecutor } from '../../../../src/jobs/executors/agent.js';
import { createTestContext, type TestContext } from '../../../support/app.js';
import { DIALECTS } from '../../../support/dialects.js';

const MiB = 1024 * 1024;
const text = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString('utf8');

describe.each(DIALECTS)('agent live logs on %s', (dialect) => {
  let t: TestContext;
  let executor: AgentExecutor;
  let agentId: string;
  let n = 0;
  const attempt = async () => {
    const { externalId } = await executor.start({
      jobId: `live-${++n}`,
      attempt: 1,
      spec: { command: ['true'], queue: 'default', resources: { cpu: 1, memory: 64 * MiB, gpu: 0 } },
      placements: [{ nodeId: agentId, cpu: 1, memory: 64 * MiB, gpus: [] }],
      env: {},
      workDir: '/nonexistent',
    });
    await agentHeartbeat(t.svc, agentId, { attempts: [{ externalId, state: 'running' }] });
    return externalId;
  };
  const append = (id: string, offset: number, s: string | Uint8Array) =>
    appendLiveLog(t.svc, agentId, id, offset, typeof s === 'string' ? Buffer.from(s) : s);
  const collect = async (it: AsyncIterable<Uint8Array>) => {
    const out: Uint8Array[] = [];
    for await (const c of it) out.push(c);
    return out;
  };

  beforeAll(async () => {
    t = await createTestContext(dialect, { executor: 'agent' });
    executor = new AgentExecutor(t.svc);
    agentId = (
      await t.svc.store.db
        .transaction()
        .execute((tx) =>
          registerAgent(t.svc, tx, 'admin', null, 'live', { cpu: 2, memory: 2 ** 30, gpus: {} }),
        )
    ).id;
  });
  afterAll(async () => t?.close());

  it('takes each shipment once and in order, and refuses a gap', async () => {
    const id = await attempt();
    expect(await append(id, 0, 'abc')).toEqual({ size: 3, done: false });
    // The agent did not hear the answer and ships again, overlapping: only the new byte is kept.
    expect(await append(id, 1, 'bcd')).toEqual({ size: 4, done: false });
    expect(await append(id, 0, 'ab')).toEqual({ size: 4, done: false });
    try {
      await append(id, 10, 'x');
      expect.unreachable();
    } catch (err) {
      expect(isFalajError(err) && err.code).toBe('FALAJ_CONFLICT');
      expect((err as { details?: unknown }).details).toEqual({ size: 4 });
    }
    expect(text(await collect(readLiveLog(t.svc, id, 0)))).toBe('abcd');
    expect(text(await collect(readLiveLog(t.svc, id, 2)))).toBe('cd');
    // A running attempt's log reads as what has been shipped so far.
    expect(text(await collect(executor.logs(id)))).toBe('abcd');
  });

  it('a follower reads the live part, then the whole log from where it was, nothing twice', async () => {
    const id = await attempt();
    await append(id, 0, 'line 1\n');
    const got: Uint8Array[] = [];
    const follower = (async () => {
      for await (const c of executor.logs(id, { follow: true })) got.push(c);
    })();
    const deadline = Date.now() + 20_000;
    while (text(got) !== 'line 1\n' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await append(id, 7, 'line 2\n');
    while (text(got) !== 'line 1\nline 2\n' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(text(got)).toBe('line 1\nline 2\n');
    // The end: the whole log goes up (more than was shipped live), then the end is reported.
    await t.svc.store.db
      .transaction()
      .execute((tx) =>
        storeAgentLog(
          t.svc,
          tx,
          agentId,
          id,
          Readable.from([Buffer.from('line 1\nline 2\nline 3\n')]),
          'admin',
        ),
      );
    await agentHeartbeat(t.svc, agentId, { attempts: [{ externalId: id, state: 'succeeded', exitCode: 0 }] });
    await follower;
    expect(text(got)).toBe('line 1\nline 2\nline 3\n');
    // The live copy is gone; a late shipment is not stored and tells the agent to stop.
    expect(await collect(readLiveLog(t.svc, id, 0))).toEqual([]);
    expect((await append(id, 0, 'late')).done).toBe(true);
    expect(await collect(readLiveLog(t.svc, id, 0))).toEqual([]);
  });

  it('keeps at most LIVE_LOG_MAX live bytes, then says done', async () => {
    const id = await attempt();
    const piece = new Uint8Array(LIVE_LOG_CHUNK_MAX).fill(65);
    let offset = 0;
    let res = { size: 0, done: false };
    while (!res.done) {
      res = await append(id, offset, piece);
      offset += piece.length;
      expect(offset).toBeLessThanOrEqual(LIVE_LOG_MAX + LIVE_LOG_CHUNK_MAX);
    }
    expect(res.size).toBe(LIVE_LOG_MAX);
    let live = 0;
    for await (const c of readLiveLog(t.svc, id, 0)) live += c.length;
    expect(live).toBe(LIVE_LOG_MAX);
  });
});
