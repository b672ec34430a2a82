// Labels on both dialects: recorded, upserted, refused whole on bad input; bulk files parsed with
// line-numbered errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import type { Services } from '../../../src/http/services.js';
import { parseLabelFile, recordLabels } from '../../../src/serving/request-log/index.js';
import { DIALECTS } from '../../support/dialects.js';
import { D1, D2, type Env, openEnv } from './helpers.js';

function failure(fn: () => unknown): { code: string; message: string; details: unknown } {
  try {
    fn();
  } catch (e) {
    if (e instanceof FalajError) return { code: e.code, message: e.message, details: e.details };
    throw e;
  }
  throw new Error('did not throw');
}

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; details: unknown }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FalajError) return { code: e.code, message: e.message, details: e.details };
    throw e;
  }
  throw new Error('did not reject');
}

async function labelsOf(svc: Services, deploymentId: string) {
  const rows = await svc.store.db
    .selectFrom('serving_labels')
    .select(['request_id', 'row', 'label', 'received_by', 'received_at'])
    .where('deployment_id', '=', deploymentId)
    .orderBy('request_id')
    .orderBy('row')
    .execute();
  return rows.map((r) => ({ ...r, row: Number(r.row), received_at: Number(r.received_at) }));
}

describe.each(DIALECTS)('request log labels on %s', (dialect) => {
  let env: Env;
  beforeAll(async () => {
    env = await openEnv(dialect);
  });
  afterAll(() => env.close());

  it('records, upserts and refuses bad input with nothing written', async () => {
    const { svc, clock } = env;
    expect(
      await recordLabels(
        svc,
        D1,
        [
          { requestId: 'r1', label: 'yes' },
          { requestId: 'r1', row: 2, label: 1 },
          { requestId: 'r2', label: 0.25 },
        ],
        'alice',
      ),
    ).toEqual({ recorded: 3 });
    const t1 = clock.now();
    expect(await labelsOf(svc, D1)).toEqual([
      { request_id: 'r1', row: 0, label: '"yes"', received_by: 'alice', received_at: t1 },
      { request_id: 'r1', row: 2, label: '1', received_by: 'alice', received_at: t1 },
      { request_id: 'r2', row: 0, label: '0.25', received_by: 'alice', received_at: t1 },
    ]);
    clock.advance(1000);
    // Upsert: the later label replaces; duplicates in one call: the last wins.
    expect(
      await recordLabels(
        svc,
        D1,
        [
          { requestId: 'r1', label: 'no' },
          { requestId: 'r3', label: 'a' },
          { requestId: 'r3', label: 'b' },
        ],
        'bob',
      ),
    ).toEqual({ recorded: 2 });
    const after = await labelsOf(svc, D1);
    expect(after.find((l) => l.request_id === 'r1' && l.row === 0)).toEqual({
      request_id: 'r1',
      row: 0,
      label: '"no"',
      received_by: 'bob',
      received_at: t1 + 1000,
    });
    expect(after.find((l) => l.request_id === 'r3')?.label).toBe('"b"');
    expect(after).toHaveLength(4);

    const bad: [unknown, RegExp][] = [
      [{ requestId: '', label: 'x' }, /request_id/],
      [{ requestId: 'x'.repeat(201), label: 'x' }, /200/],
      [{ requestId: 'ok', row: -1, label: 'x' }, /row/],
      [{ requestId: 'ok', row: 1.5, label: 'x' }, /row/],
      [{ requestId: 'ok', label: Number.NaN }, /finite/],
      [{ requestId: 'ok', label: Number.POSITIVE_INFINITY }, /finite/],
      [{ requestId: 'ok', label: null }, /label/],
      [{ requestId: 'ok', label: { a: 1 } }, /label/],
      [{ requestId: 7, label: 'x' }, /request_id/],
    ];
    for (const [item, re] of bad) {
      const labels = [{ requestId: 'fresh', label: 'x' }, item] as { requestId: string; label: string }[];
      const err = await rejection(recordLabels(svc, D1, labels, 'eve'));
      expect(err.code).toBe('FALAJ_INVALID_ARGUMENT');
      expect(err.message).toMatch(/^labels\[1\]: /);
      expect(err.message).toMatch(re);
      expect(err.details).toEqual({ index: 1 });
    }
    expect(await labelsOf(svc, D1)).toEqual(after);
    expect((await rejection(recordLabels(svc, 'nope', [{ requestId: 'a', label: 1 }], 'eve'))).code).toBe(
      'FALAJ_DEPLOYMENT_NOT_FOUND',
    );
    // Many labels in one transaction (chunked inserts).
    const many = Array.from({ length: 1234 }, (_, i) => ({ requestId: `m-${i}`, label: i % 2 }));
    expect(await recordLabels(svc, D2, many, 'alice')).toEqual({ recorded: 1234 });
    expect(await labelsOf(svc, D2)).toHaveLength(1234);
  });
});

describe('label files', () => {
  it('parses CSV with a header in any order, quoted fields and numbers', () => {
    const csv = 'request_id,label,row\nr1,yes,0\n"r,2","say ""no""",\nr3,1.5,2\r\nr4,"7",\n\n';
    expect(parseLabelFile(csv, 'text/csv; charset=utf-8')).toEqual([
      { requestId: 'r1', label: 'yes', row: 0 },
      { requestId: 'r,2', label: 'say "no"' },
      { requestId: 'r3', label: 1.5, row: 2 },
      { requestId: 'r4', label: '7' },
    ]);
    expect(parseLabelFile('label,request_id\n0,a\n', 'text/csv')).toEqual([{ requestId: 'a', label: 0 }]);
    expect(parseLabelFile('\ufeffrequest_id,label\n"multi\nline",x\nb,y\n', 'text/csv')).toEqual([
      { requestId: 'multi\nline', label: 'x' },
      { requestId: 'b', label: 'y' },
    ]);
  });

  it('names the line of every CSV error', () => {
    const cases: [string, number, RegExp][] = [
      ['', 1, /empty/],
      ['request_id,target\n', 1, /unknown column 'target'/],
      ['request_id,row\n', 1, /request_id and label/],
      ['request_id,label\na,1\nb\n', 3, /expected 2 fields, found 1/],
      ['request_id,label,row\na,1,0\nb,2,-1\n', 3, /row/],
      ['request_id,label,row\na,1,x\n', 2, /row/],
      ['request_id,label\na,1\n,2\n', 3, /request_id/],
      ['request_id,label\n"a\nb",1\nc,"open\n', 4, /not closed/],
      ['request_id,label\na,"x"y\n', 2, /after a closing quote/],
    ];
    for (const [text, line, re] of cases) {
      const err = failure(() => parseLabelFile(text, 'text/csv'));
      expect(err.code).toBe('FALAJ_INVALID_ARGUMENT');
      expect(err.message).toMatch(new RegExp(`^line ${line}: `));
      expect(err.message).toMatch(re);
      expect(err.details).toEqual({ line });
    }
  });

  it('parses JSON lines and names the line of every error', () => {
    const jsonl = '{"request_id":"a","label":"yes"}\n\n{"request_id":"b","label":2.5,"row":3}\n';
    expect(parseLabelFile(jsonl, 'application/x-ndjson')).toEqual([
      { requestId: 'a', label: 'yes' },
      { requestId: 'b', label: 2.5, row: 3 },
    ]);
    const cases: [string, number, RegExp][] = [
      ['{"request_id":"a","label":1}\n{oops}\n', 2, /not valid JSON/],
      ['[1]\n', 1, /object/],
      [
        '{"request_id":"a","label":1}\n\n{"request_id":"b","label":1,"extra":1}\n',
        3,
        /unknown field 'extra'/,
      ],
      ['{"request_id":"a","label":true}\n', 1, /label/],
      ['{"request_id":"a","label":1,"row":"2"}\n', 1, /row/],
      ['{"label":1}\n', 1, /request_id/],
    ];
    for (const [text, line, re] of cases) {
      const err = failure(() => parseLabelFile(text, 'application/jsonl'));
      expect(err.code).toBe('FALAJ_INVALID_ARGUMENT');
      expect(err.message).toMatch(new RegExp(`^line ${line}: `));
      expect(err.message).toMatch(re);
    }
    expect(failure(() => parseLabelFile('x', 'application/xml')).code).toBe('FALAJ_UNSUPPORTED_MEDIA_TYPE');
  });
});
