import type { LightMyRequestResponse } from 'fastify';
import { createTestContext, type TestContext } from '../support/app.js';
import type { DialectName } from '../support/dialects.js';

export const DS = '/api/v1/projects/alpha/datasets';

export interface DataTest {
  t: TestContext;
  /** Project API tokens on `alpha`: admin, editor, viewer. */
  admin: string;
  editor: string;
  viewer: string;
  json(
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    body?: unknown,
    token?: string,
  ): Promise<LightMyRequestResponse>;
  upload(
    dataset: string,
    fileName: string,
    bytes: string | Buffer,
    token?: string,
  ): Promise<LightMyRequestResponse>;
  /** Row counts of the data tables, artifacts, and the audit log (successful events apart). */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const TABLES = [
  'data_datasets',
  'data_versions',
  'data_column_tags',
  'data_validations',
  'artifacts',
] as const;

export async function setupData(dialect: DialectName): Promise<DataTest> {
  const t = await createTestContext(dialect);
  const res = await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name: 'alpha' } });
  if (res.statusCode !== 201) throw new Error(`project: ${res.statusCode} ${res.body}`);
  const token = async (role: string) => {
    const r = await t.request('POST', '/api/v1/projects/alpha/tokens', {
      token: t.adminToken,
      body: { name: `alpha-${role}`, role },
    });
    if (r.statusCode !== 201) throw new Error(`token: ${r.statusCode} ${r.body}`);
    return (r.json() as { token: string }).token;
  };
  const admin = await token('admin');
  const editor = await token('editor');
  const viewer = await token('viewer');
  return {
    t,
    admin,
    editor,
    viewer,
    json: (method, url, body, tok = editor) =>
      t.request(method, url, { token: tok, ...(body !== undefined ? { body } : {}) }),
    upload: (dataset, fileName, bytes, tok = editor) =>
      t.app.inject({
        method: 'POST',
        url: `${DS}/${dataset}/versions?fileName=${encodeURIComponent(fileName)}`,
        headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/octet-stream' },
        payload: typeof bytes === 'string' ? Buffer.from(bytes) : bytes,
      }),
    async counts() {
      const db = t.svc.store.db;
      const out: Record<string, number> = {};
      for (const table of TABLES) {
        const row = await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        out[table] = Number(row.n);
      }
      const ok = await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('outcome', '=', 'success')
        .executeTakeFirstOrThrow();
      out.successfulAuditEvents = Number(ok.n);
      return out;
    },
    close: () => t.close(),
  };
}

/** A small CSV with an email column, a null, a date, and two numeric columns (b ≤ a). */
export function peopleCsv(rows = 40, shift = 0): string {
  const lines = ['id,email,age,score,limit_,joined,city'];
  for (let i = 1; i <= rows; i++) {
    const age = 20 + ((i * 7) % 40) + shift;
    const score = i % 10 === 0 ? '' : String((i * 13) % 100);
    lines.push(
      `${i},user${i}@example.com,${age},${score},${age + 5},2024-01-${String((i % 28) + 1).padStart(2, '0')},${['Dubai', 'Muscat', 'Doha'][i % 3]}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
