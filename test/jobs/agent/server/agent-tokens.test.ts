// Agent tokens and the owner's agent routes: a token registers agents and speaks only for them,
// is refused everywhere else, and revoking it (or removing an agent) ends the lease at once, so
// that the agent's unfinished attempts count as lost and run again elsewhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentExecutor } from '../../../../src/jobs/executors/agent.js';
import { createTestContext, type TestContext } from '../../../support/app.js';
import { DIALECTS } from '../../../support/dialects.js';

const CAPACITY = { cpu: 4, memory: 8 * 1024 ** 3, gpus: { h100: [0, 1] } };
const MiB = 1024 * 1024;

describe.each(DIALECTS)('agent tokens on %s', (dialect) => {
  let t: TestContext;
  const mint = async (name: string) => {
    const res = await t.request('POST', '/api/v1/agent-tokens', { token: t.adminToken, body: { name } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; token: string; expiresAt: string | null };
  };
  const register = async (token: string, name: string) => {
    const res = await t.request('POST', '/api/v1/agents', { token, body: { name, capacity: CAPACITY } });
    expect(res.statusCode, res.body).toBe(201);
    return (res.json() as { id: string }).id;
  };
  const heartbeat = (token: string, id: string) =>
    t.request('POST', `/api/v1/agents/${id}/heartbeat`, { token, body: { attempts: [] } });

  beforeAll(async () => {
    t = await createTestContext(dialect, { executor: 'agent' });
    await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name: 'ml' } });
  });
  afterAll(async () => t?.close());

  it('is shown once, listed without its secret, and refused outside the agent protocol', async () => {
    const a = await mint('gpu-box-1');
    expect(a.token).toMatch(/^falajagt_/);
    expect(a.expiresAt).toBeNull();
    const list = await t.request('GET', '/api/v1/agent-tokens', { token: t.adminToken });
    const row = (list.json() as { tokens: Record<string, unknown>[] }).tokens.find((x) => x.id === a.id);
    expect(row).toMatchObject({ name: 'gpu-box-1', status: 'active', createdBy: 'admin' });
    expect(JSON.stringify(list.json())).not.toContain(a.token);
    for (const [method, url] of [
      ['GET', '/api/v1/projects'],
      ['GET', '/api/v1/auth/me'],
      ['GET', '/api/v1/agents'],
      ['POST', '/api/v1/agent-tokens'],
      ['GET', '/api/v1/projects/ml/jobs'],
    ] as const) {
      const res = await t.request(method, url, { token: a.token, body: { name: 'x' } });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    // Only the owner mints them.
    const user = await t.userWithSession('plain-user');
    expect(
      (await t.request('POST', '/api/v1/agent-tokens', { token: user, body: { name: 'x' } })).statusCode,
    ).toBe(403);
  });

  it('speaks only for the agents it registered', async () => {
    const a = await mint('box-a');
    const b = await mint('box-b');
    const agentA = await register(a.token, 'box-a');
    expect((await heartbeat(a.token, agentA)).statusCode).toBe(200);
    const other = await heartbeat(b.token, agentA);
    expect(other.statusCode).toBe(404);
    // The owner may speak for any agent (an agent run with an owner's session, or a repair).
    expect((await heartbeat(t.adminToken, agentA)).statusCode).toBe(200);
    const agents = await t.request('GET', '/api/v1/agents', { token: t.adminToken });
    expect((agents.json() as { agents: unknown[] }).agents).toContainEqual(
      expect.objectContaining({
        id: agentA,
        name: 'box-a',
        state: 'live',
        tokenId: a.id,
        registeredBy: 'agent:box-a',
      }),
    );
  });

  it("hands out an attempt's code snapshot to its agent only, while the attempt is open", async () => {
    const a = await mint('code-a');
    const b = await mint('code-b');
    const agentA = await register(a.token, 'code-a');
    const agentB = await register(b.token, 'code-b');
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/projects/ml/artifacts/files/jobs/code/snap.tar',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/x-tar' },
      payload: Buffer.from('pretend tar bytes'),
    });
    expect(put.statusCode, put.body).toBe(201);
    const project = await t.svc.store.db
      .selectFrom('projects')
      .select('id')
      .where('name', '=', 'ml')
      .executeTakeFirstOrThrow();
    await t.svc.store.db
      .insertInto('jobs')
      .values({
        id: 'job-code-1',
        project_id: project.id,
        queue: 'default',
        name: 'code',
        spec: '{}',
        state: 'running',
        priority: 0,
        attempt: 1,
        run_id: null,
        executor: 'agent',
        external_id: null,
        placements: null,
        reason: null,
        exit_code: null,
        submitted_by: 'admin',
        created_at: 0,
        updated_at: 0,
        started_at: null,
        ended_at: null,
        not_before: null,
        cancel_requested_at: null,
        preempt_requested_at: null,
      })
      .execute();
    const executor = new AgentExecutor(t.svc);
    const { externalId } = await executor.start({
      jobId: 'job-code-1',
      attempt: 1,
      spec: {
        command: ['true'],
        queue: 'default',
        resources: { cpu: 1, memory: 64 * MiB, gpu: 0 },
        code: { artifact: 'jobs/code/snap.tar' },
      },
      placements: [{ nodeId: agentA, cpu: 1, memory: 64 * MiB, gpus: [] }],
      env: {},
      workDir: '/nonexistent',
    });
    const code = (token: string, agent: string) =>
      t.request('GET', `/api/v1/agents/${agent}/attempts/${externalId}/code`, { token });
    const got = await code(a.token, agentA);
    expect(got.statusCode, got.body).toBe(200);
    expect(got.body).toBe('pretend tar bytes');
    expect((await code(b.token, agentA)).statusCode).toBe(404);
    expect((await code(b.token, agentB)).statusCode).toBe(404);
    // Once the attempt is reported ended, its code is no longer handed out.
    await t.request('POST', `/api/v1/agents/${agentA}/heartbeat`, {
      token: a.token,
      body: { attempts: [{ externalId, state: 'succeeded', exitCode: 0 }] },
    });
    expect((await code(a.token, agentA)).statusCode).toBe(404);
  });

  it("revoking a token ends its agents' leases: their attempts are lost, the token refused", async () => {
    const a = await mint('revoked-box');
    const agent = await register(a.token, 'revoked-box');
    const executor = new AgentExecutor(t.svc);
    const { externalId } = await executor.start({
      jobId: 'job-revoke',
      attempt: 1,
      spec: { command: ['sleep', '100'], queue: 'default', resources: { cpu: 1, memory: 64 * MiB, gpu: 0 } },
      placements: [{ nodeId: agent, cpu: 1, memory: 64 * MiB, gpus: [] }],
      env: {},
      workDir: '/nonexistent',
    });
    expect((await executor.status(externalId)).state).toBe('pending');
    const res = await t.request('DELETE', `/api/v1/agent-tokens/${a.id}`, { token: t.adminToken });
    expect(res.statusCode, res.body).toBe(204);
    expect((await executor.status(externalId)).state).toBe('lost');
    const hb = await heartbeat(a.token, agent);
    expect(hb.statusCode).toBe(401);
    expect(hb.json().error.code).toBe('FALAJ_TOKEN_REVOKED');
    const list = await t.request('GET', '/api/v1/agents', { token: t.adminToken });
    expect(
      (list.json() as { agents: { id: string; state: string }[] }).agents.find((x) => x.id === agent)?.state,
    ).toBe('lost');
    // Revoking twice changes nothing more; an unknown id is a 404.
    expect(
      (await t.request('DELETE', `/api/v1/agent-tokens/${a.id}`, { token: t.adminToken })).statusCode,
    ).toBe(204);
    expect(
      (await t.request('DELETE', `/api/v1/agent-tokens/${'0'.repeat(32)}`, { token: t.adminToken }))
        .statusCode,
    ).toBe(404);
  });

  it('removing an agent ends its lease: its next heartbeat is told to register again', async () => {
    const a = await mint('removed-box');
    const agent = await register(a.token, 'removed-box');
    const res = await t.request('DELETE', `/api/v1/agents/${agent}`, { token: t.adminToken });
    expect(res.statusCode, res.body).toBe(204);
    const hb = await heartbeat(a.token, agent);
    expect(hb.statusCode).toBe(409);
    expect(hb.json().error.code).toBe('FALAJ_CONFLICT');
    // The token itself still works: the machine may register afresh.
    await register(a.token, 'removed-box');
    expect(
      (await t.request('DELETE', '/api/v1/agents/agent-0000000000000000', { token: t.adminToken }))
        .statusCode,
    ).toBe(404);
    const audit = await t.svc.store.db
      .selectFrom('audit_events')
      .select(['action', 'object_id'])
      .where('action', 'in', ['agent.remove', 'agent-token.create', 'agent-token.revoke'])
      .execute();
    expect(audit).toContainEqual({ action: 'agent.remove', object_id: agent });
    expect(audit.filter((e) => e.action === 'agent-token.create').length).toBeGreaterThanOrEqual(5);
  });
});
