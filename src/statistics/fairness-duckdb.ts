// Fairness in DuckDB: one GROUP BY over the sensitive columns yields the confusion counts of
// every group in a single scan; fairness.ts does the rest, as for the in-memory path.
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { FalajError } from '../core/errors.js';
import { fairnessFromCounts } from './fairness.js';
import { type FairnessColumns, notBinary, validateFairnessArgs } from './fairness-memory.js';
import type { FairnessOptions, FairnessReport, GroupCounts, GroupValue } from './fairness-types.js';
import { fromItem, isNumericType, num, query, quoteIdent, sourceColumns, type TableSource } from './sql.js';
import { type CategoryKey, toKey } from './values.js';

/** The label as a value of the column's own type, so the comparison needs no per-row cast. */
function labelParam(sourceType: string, label: CategoryKey, numericLabels: boolean): DuckDBValue {
  if (sourceType === 'BOOLEAN' && numericLabels) return label === 1;
  if (sourceType === 'BOOLEAN' && typeof label === 'boolean') return label;
  if (isNumericType(sourceType) && typeof label === 'number') return label;
  return String(label);
}

/** Fairness metrics computed in DuckDB over a table, view, CSV or Parquet file. */
export async function computeFairnessDuckDB(
  conn: DuckDBConnection,
  source: TableSource,
  columns: FairnessColumns,
  options: FairnessOptions = {},
): Promise<FairnessReport> {
  validateFairnessArgs(columns, options);
  const pos = options.positiveLabel ?? 1;
  const neg = options.negativeLabel ?? 0;
  const numeric = typeof pos === 'number' && typeof neg === 'number';
  const types = new Map((await sourceColumns(conn, source)).map((c) => [c.name, c.type]));
  for (const name of [columns.label, columns.prediction, ...columns.sensitive]) {
    if (!types.has(name))
      throw new FalajError('FALAJ_DATA_INVALID', `column '${name}' is missing`, { column: name });
  }
  const params: Record<string, DuckDBValue> = {};
  const from = fromItem(source, 'src', params);
  const yType = types.get(columns.label) as string;
  const pType = types.get(columns.prediction) as string;
  params.ypos = labelParam(yType, pos, numeric);
  params.yneg = labelParam(yType, neg, numeric);
  params.ppos = labelParam(pType, pos, numeric);
  params.pneg = labelParam(pType, neg, numeric);
  const y = quoteIdent(columns.label);
  const p = quoteIdent(columns.prediction);
  const s = columns.sensitive.map(quoteIdent);
  const rows = await query(
    conn,
    `SELECT ${s.join(', ')}, count(*),
  count_if(${y} = $ypos AND ${p} = $ppos), count_if(${y} = $yneg AND ${p} = $ppos),
  count_if(${y} = $yneg AND ${p} = $pneg), count_if(${y} = $ypos AND ${p} = $pneg),
  count_if(${y} = $ypos OR ${y} = $yneg), count_if(${p} = $ppos OR ${p} = $pneg)
FROM ${from} GROUP BY ${s.join(', ')}`,
    params,
  );
  const k = s.length;
  const counts: GroupCounts[] = [];
  let badLabel = false;
  let badPrediction = false;
  for (const r of rows) {
    const n = num(r[k]);
    if (num(r[k + 5]) !== n) badLabel = true;
    if (num(r[k + 6]) !== n) badPrediction = true;
    const group: Record<string, GroupValue> = {};
    columns.sensitive.forEach((c, j) => {
      group[c] = toKey(r[j]) ?? null;
    });
    counts.push({
      group,
      truePositives: num(r[k + 1]),
      falsePositives: num(r[k + 2]),
      trueNegatives: num(r[k + 3]),
      falseNegatives: num(r[k + 4]),
    });
  }
  if (badLabel || badPrediction) {
    // Only on failure: one more scan to name an offending value.
    const [col, pv, nv] = badLabel ? [y, 'ypos', 'yneg'] : [p, 'ppos', 'pneg'];
    const ex = await query(
      conn,
      `SELECT ${col} FROM ${from} WHERE ${col} IS NULL OR NOT (${col} = $${pv} OR ${col} = $${nv}) LIMIT 1`,
      Object.fromEntries(Object.entries(params).filter(([key]) => key === pv || key === nv || key === 'src')),
    );
    throw notBinary(badLabel ? columns.label : columns.prediction, ex[0]?.[0] ?? null, pos, neg);
  }
  return fairnessFromCounts(counts, columns, options);
}
