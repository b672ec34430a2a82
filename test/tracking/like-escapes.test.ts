import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { setupTracking, type TrackingTest } from './helpers.js';

// Experiment search and run search share one LIKE (the store dialect's): `\` escapes the next
// character, so `a\_b%` matches a literal underscore, on both dialects and in both searches.
describe.each(DIALECTS)('LIKE with \\ escapes in experiment and run search on %s', (dialect) => {
  let x: TrackingTest;
  let experimentId: string;
  const NAMES = ['a_b1', 'axb1', 'A_B2', 'a%c', 'abc', 'a*c'];
  beforeAll(async () => {
    x = await setupTracking(dialect);
    for (const name of NAMES) {
      const res = await x.ml('POST', 'experiments/create', {
        body: { name, tags: [{ key: 'label', value: name }] },
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    const res = await x.ml('POST', 'experiments/create', { body: { name: 'runs-here' } });
    experimentId = res.json().experiment_id as string;
    for (const name of NAMES) {
      const r = await x.ml('POST', 'runs/create', {
        body: { experiment_id: experimentId, run_name: name, tags: [{ key: 'label', value: name }] },
      });
      expect(r.statusCode, r.body).toBe(200);
    }
  });
  afterAll(async () => x?.close());

  const experiments = async (filter: string) => {
    const res = await x.ml('POST', 'experiments/search', { body: { filter, order_by: ['name ASC'] } });
    expect(res.statusCode, res.body).toBe(200);
    return ((res.json().experiments ?? []) as { name: string }[]).map((e) => e.name).sort();
  };
  const runs = async (filter: string) => {
    const res = await x.ml('POST', 'runs/search', { body: { experiment_ids: [experimentId], filter } });
    expect(res.statusCode, res.body).toBe(200);
    return ((res.json().runs ?? []) as { info: { run_name: string } }[]).map((r) => r.info.run_name).sort();
  };

  const CASES: [string, string, string[]][] = [
    ['LIKE', 'a\\_b%', ['a_b1']],
    ['LIKE', 'a_b%', ['a_b1', 'axb1']],
    ['ILIKE', 'a\\_b%', ['A_B2', 'a_b1']],
    ['LIKE', 'a\\%c', ['a%c']],
    ['LIKE', 'a%c', ['a%c', 'a*c', 'abc']],
    ['LIKE', 'a*c', ['a*c']],
  ];

  it.each(CASES)('experiments: name %s %j', async (op, pattern, want) => {
    expect(await experiments(`name ${op} '${pattern}'`)).toEqual(want);
  });

  it.each(CASES)('experiments: tags.label %s %j', async (op, pattern, want) => {
    expect(await experiments(`tags.label ${op} '${pattern}'`)).toEqual(want);
  });

  it.each(CASES)('runs: attributes.run_name %s %j', async (op, pattern, want) => {
    expect(await runs(`attributes.run_name ${op} '${pattern}'`)).toEqual(want);
  });

  it.each(CASES)('runs: tags.label %s %j', async (op, pattern, want) => {
    expect(await runs(`tags.label ${op} '${pattern}'`)).toEqual(want);
  });
});
