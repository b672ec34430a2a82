// Human-readable tables of profiles, validation results, drift and fairness reports.
import type { Profile, ValidationResult } from '../../data/types.js';
import type { DriftReport, FairnessReport } from '../../statistics/index.js';
import { printResult } from '../output.js';

const fmt = (v: unknown): string => {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, '');
  return String(v);
};

export function printProfile(p: Profile): void {
  process.stdout.write(`${p.rowCount} rows, ${p.columns.length} columns (quantiles ${p.quantiles})\n`);
  printResult(
    p.columns.map((c) => ({
      column: c.name,
      type: c.type,
      count: c.count,
      nulls: c.nulls,
      distinct: c.distinct,
      min: fmt(c.min),
      max: fmt(c.max),
      mean: fmt(c.mean),
      std: fmt(c.std),
      median: fmt(c.quantiles?.['0.5']),
      top:
        c.topValues
          ?.slice(0, 3)
          .map((t) => `${t.value} (${t.count})`)
          .join(', ') ?? '-',
    })),
    {},
    ['column', 'type', 'count', 'nulls', 'distinct', 'min', 'max', 'mean', 'std', 'median', 'top'],
  );
}

export function printValidation(r: ValidationResult): void {
  const s = r.statistics;
  process.stdout.write(
    `${r.success ? 'PASSED' : 'FAILED'}: ${s.successful_expectations} of ${s.evaluated_expectations} expectations met\n`,
  );
  printResult(
    r.results.map((x) => {
      const k = x.expectation_config.kwargs;
      return {
        ok: x.success ? 'yes' : 'NO',
        expectation: x.expectation_config.expectation_type.replace(/^expect_/, ''),
        column: String(k.column ?? (k.column_A ? `${k.column_A}, ${k.column_B}` : '-')),
        unexpected:
          x.result.unexpected_count === undefined
            ? '-'
            : `${x.result.unexpected_count} (${fmt(x.result.unexpected_percent)}%)`,
        observed: x.exception_info
          ? x.exception_info.exception_message
          : fmt(
              typeof x.result.observed_value === 'object'
                ? JSON.stringify(x.result.observed_value)
                : x.result.observed_value,
            ),
        sample: (x.result.partial_unexpected_list ?? [])
          .slice(0, 3)
          .map((v) => JSON.stringify(v))
          .join(' '),
      };
    }),
    {},
    ['ok', 'expectation', 'column', 'unexpected', 'observed', 'sample'],
  );
}

export function printDrift(r: DriftReport): void {
  process.stdout.write(
    `${r.numberOfDriftedColumns} of ${r.numberOfColumns} columns drifted (share ${fmt(r.share)}; dataset drift ${r.datasetDrift ? 'YES' : 'no'} at ${r.driftShare})\n`,
  );
  printResult(
    r.columns.map((c) => ({
      column: c.column,
      type: c.type,
      method: c.method,
      statistic: fmt(c.statistic),
      pValue: fmt(c.pValue),
      threshold: c.threshold,
      drifted: c.drifted ? 'YES' : 'no',
    })),
    {},
    ['column', 'type', 'method', 'statistic', 'pValue', 'threshold', 'drifted'],
  );
}

export function printFairness(r: FairnessReport): void {
  process.stdout.write(`${r.rows} rows; sensitive: ${r.sensitiveColumns.join(', ')}\n`);
  printResult(
    r.groups.map((g) => ({
      group: g.name,
      count: g.count,
      selectionRate: fmt(g.selectionRate),
      tpr: fmt(g.truePositiveRate),
      fpr: fmt(g.falsePositiveRate),
      precision: fmt(g.precision),
      impactRatio: fmt(g.impactRatio),
      small: g.small ? 'SMALL' : '',
    })),
    {},
    ['group', 'count', 'selectionRate', 'tpr', 'fpr', 'precision', 'impactRatio', 'small'],
  );
  const f = r.fairlearn;
  const a = r.aif360;
  process.stdout.write(
    [
      `demographic parity difference ${fmt(f.demographicParityDifference)}, ratio ${fmt(f.demographicParityRatio)}`,
      `equalized odds difference ${fmt(f.equalizedOddsDifference)}, ratio ${fmt(f.equalizedOddsRatio)}`,
      `equal opportunity difference ${fmt(f.equalOpportunityDifference)}`,
      `disparate impact ${fmt(a.disparateImpact)} (privileged: ${a.privilegedGroup}), average odds difference ${fmt(a.averageOddsDifference)}, Theil index ${fmt(a.theilIndex)}`,
      `four-fifths rule: ${r.fourFifthsRule.passed ? 'passed' : `FAILED for ${r.fourFifthsRule.failingGroups.join('; ')}`}`,
    ].join('\n') + '\n',
  );
}
