// `falaj deployments ...` and invoke tokens end to end: the built CLI (dist/) against a real
// server process. A model trained with `falaj train` and registered twice is deployed, given a
// canary, promoted, rolled back; made public by the admin (refused to a maintainer); called with
// an invoke token bound to it over MLflow scoring; labelled; its request log read; deleted.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adultLikeCsv } from '../support/adult-like.js';
import { type CliSession, startCliSession } from '../support/cli-session.js';

let cli: CliSession;
let admin = '';
let bob = '';
/** Rows to score: the training CSV's header and lines without the target column. */
let scoringCsv = '';

async function api<T>(method: string, p: string, body?: unknown, bearer = admin): Promise<T> {
  const res = await fetch(cli.server.url + p, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

beforeAll(async () => {
  cli = await startCliSession();
  const csv = path.join(cli.sb.dataDir, 'adult.csv');
  const text = adultLikeCsv(400, 5);
  writeFileSync(csv, text);
  const lines = text.trim().split('\n');
  const target = lines[0]!.split(',').indexOf('income');
  scoringCsv = `${lines
    .slice(0, 4)
    .map((l) =>
      l
        .split(',')
        .filter((_, i) => i !== target)
        .join(','),
    )
    .join('\n')}\n`;
  const out = cli.ok([
    'train',
    '--data',
    csv,
    '--target',
    'income',
    '--params',
    '{"nRounds":5}',
    '--out',
    path.join(cli.sb.dataDir, 'trained'),
    '--experiment',
    'income',
    '--json',
  ]);
  const runId = JSON.parse(out).runId as string;
  cli.ok(['models', 'register', 'income', '--run', runId]);
  cli.ok(['models', 'register', 'income', '--run', runId]);
  // The owner's session (what `falaj login` saved), and bob, a maintainer of the project.
  admin = (JSON.parse(readFileSync(cli.env.FALAJ_CONFIG!, 'utf8')) as { token: string }).token;
  await api('POST', '/api/v1/users', { username: 'bob', password: 'bob-password-123' });
  await api('PUT', '/api/v1/projects/ml/members/bob', { role: 'maintainer' });
  bob = (
    await api<{ token: string }>('POST', '/api/v1/auth/login', {
      username: 'bob',
      password: 'bob-password-123',
    })
  ).token;
}, 180_000);
afterAll(() => cli?.dispose());

describe('falaj deployments', () => {
  it('create (--json): ready, serving income@1, with the full URLs to call', () => {
    const d = JSON.parse(
      cli.ok(['deployments', 'create', 'income', '--model', 'income@1', '--description', 'adult', '--json']),
    );
    expect(d).toMatchObject({
      name: 'income',
      description: 'adult',
      revision: 1,
      state: 'ready',
      public: false,
      serving: { primary: { model: 'income', version: 1 } },
      spec: { model: 'income@1', canary: null, shadow: null, placement: 'embedded' },
    });
    const base = `${cli.server.url}/serving/ml/income`;
    expect(d.endpoints).toEqual({
      base,
      v2Infer: `${base}/v2/models/income/infer`,
      mlflow: `${base}/invocations`,
    });
  });

  it('update --canary --percent 10, a bad percent refused with its code, --promote-canary, rollback, revisions', () => {
    const canary = JSON.parse(
      cli.ok(['deployments', 'update', 'income', '--canary', 'income@2', '--percent', '10', '--json']),
    );
    expect(canary).toMatchObject({
      revision: 2,
      state: 'ready',
      spec: { model: 'income@1', canary: { model: 'income@2', percent: 10 } },
      serving: { primary: { version: 1 }, canary: { version: 2 } },
    });

    const bad = cli.falaj(['deployments', 'update', 'income', '--percent', '150']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error FALAJ_DEPLOYMENT_INVALID');
    expect(bad.stderr).toContain('canary.percent');

    const promoted = cli.ok(['deployments', 'update', 'income', '--promote-canary']);
    expect(promoted).toContain('updated income: revision 3');
    expect(promoted).toContain('model: income@2');
    expect(promoted).toContain('canary: none');

    const back = JSON.parse(cli.ok(['deployments', 'rollback', 'income', '--json']));
    expect(back).toMatchObject({
      revision: 4,
      state: 'ready',
      spec: { model: 'income@1', canary: { model: 'income@2', percent: 10 } },
    });

    const table = cli.ok(['deployments', 'revisions', 'income']).trim().split('\n');
    expect(table[0]).toMatch(/^REVISION\s+REASON\s+SPEC/);
    expect(table.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      '4 rollback',
      '3 promote-canary',
      '2 update',
      '1 create',
    ]);
  });

  it('show prints the spec, what serves per variant and the URLs', () => {
    const shown = cli.ok(['deployments', 'show', 'income']);
    expect(shown).toContain('income (revision 4): ready');
    expect(shown).toContain('canary: income@2 (10% of requests)');
    expect(shown).toContain('serving: primary income@1, canary income@2');
    expect(shown).toContain(`url: ${cli.server.url}/serving/ml/income`);
    expect(shown).toContain(`V2 infer: ${cli.server.url}/serving/ml/income/v2/models/income/infer`);
  });

  it('public: refused to a maintainer, done by the project admin', () => {
    const refused = cli.falaj(['deployments', 'public', 'income', '--on', '--json'], '', {
      FALAJ_TOKEN: bob,
    });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe('FALAJ_FORBIDDEN');
    expect(cli.ok(['deployments', 'public', 'income', '--on'])).toContain('income is public');
    expect(cli.ok(['deployments', 'public', 'income', '--off'])).toContain('no longer public');
  });

  it('an invoke token bound to the deployment calls it (MLflow scoring), nothing else; labels; logs', async () => {
    const made = cli.falaj([
      'tokens',
      'create',
      'ml',
      '--name',
      'scorer',
      '--role',
      'invoke',
      '--deployment',
      'income',
    ]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toContain('invoke on deployment income of ml');
    const token = made.stdout.trim();

    const res = await fetch(`${cli.server.url}/serving/ml/income/invocations`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'text/csv',
        'x-request-id': 'cli-order-1',
      },
      body: scoringCsv,
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text)).toHaveProperty('predictions');
    expect((JSON.parse(text) as { predictions: unknown[] }).predictions).toHaveLength(3);
    // The caller's X-Request-Id is what the request log keeps (and what labels name).
    const requestId = 'cli-order-1';
    expect(res.headers.get('x-request-id')).toBe(requestId);
    // The token reaches nothing but the deployment.
    const api = await fetch(`${cli.server.url}/api/v1/projects/ml/deployments`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(api.status).toBe(403);
    // Without a token the (private) deployment refuses.
    const anon = await fetch(`${cli.server.url}/serving/ml/income/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: scoringCsv,
    });
    expect(anon.status).toBe(401);

    expect(
      cli.ok(['deployments', 'labels', 'income', '--request-id', requestId, '--label', '>50K', '--row', '1']),
    ).toContain('recorded 1 label for income');

    // The request log is written in batches: wait for the request (through the API), then read it.
    for (const started = Date.now(); ; ) {
      const { requests } = (await (
        await fetch(`${cli.server.url}/api/v1/projects/ml/deployments/income/requests`, {
          headers: { authorization: `Bearer ${admin}` },
        })
      ).json()) as { requests: unknown[] };
      if (requests.length >= 3) break;
      if (Date.now() - started > 30_000) throw new Error('the request never reached the request log');
      await new Promise((r) => setTimeout(r, 250));
    }
    const rows = JSON.parse(cli.ok(['deployments', 'logs', 'income', '--limit', '10', '--json'])) as {
      request_id: string;
      row: number;
      status: number;
      label: unknown;
    }[];
    expect(rows.filter((r) => r.request_id === requestId)).toHaveLength(3);
    expect(rows.find((r) => r.request_id === requestId && r.row === 1)).toMatchObject({
      status: 200,
      label: '>50K',
    });
  });

  it('delete: refused without --yes when not on a terminal; deleted with it', () => {
    const refused = cli.falaj(['deployments', 'delete', 'income']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error FALAJ_INVALID_ARGUMENT');
    expect(refused.stderr).toContain('--yes');
    expect(cli.ok(['deployments', 'delete', 'income', '--yes'])).toContain('deleted deployment income');
    const gone = cli.falaj(['deployments', 'show', 'income']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/error FALAJ_\w*NOT_FOUND/);
  });
});
