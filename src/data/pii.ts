// PII detection by sampling: a text column is tagged when most of a sample of its values
// match a pattern (or, for names, when its header says so and the values look like names).
// A detection is a suggestion: users correct tags, and their tags are never overwritten.
import { kindOf } from './column-kind.js';
import type { ColumnSchema } from './types.js';
import { type DuckWorkspace, quoteIdent } from './workspace.js';

export const PII_TAGS = ['email', 'phone', 'national_id', 'name'] as const;
export type PiiTag = (typeof PII_TAGS)[number];

/** Values sampled per column (a fixed-seed reservoir: the same file gives the same tags). */
export const PII_SAMPLE = 500;
/** Share of sampled values that must match. */
export const PII_MATCH_SHARE = 0.8;

const PATTERNS: Record<Exclude<PiiTag, 'name'>, RegExp> = {
  email: /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/,
  // E.164 or national numbers with separators: 7 to 15 digits in all.
  phone: /^(?=(?:\D*\d){7,15}\D*$)\+?[\d\s().-]+$/,
  // US SSN, UAE Emirates ID (784-YYYY-NNNNNNN-N), UK National Insurance number.
  national_id: /^(\d{3}-\d{2}-\d{4}|784-?\d{4}-?\d{7}-?\d|[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D])$/,
};
const NAME_HEADER = /(^|_|\b)(first|last|full|given|family|sur|middle|customer|person|patient)?_?name($|_)/i;
const NAME_VALUE = /^\p{Lu}[\p{L}'-]+(\s+\p{Lu}[\p{L}'.-]*){0,3}$/u;

/** The PII tag of one column from sampled values, or null. */
export function classify(column: string, values: readonly string[]): PiiTag | null {
  const sample = values.map((v) => v.trim()).filter((v) => v !== '');
  if (sample.length === 0) return null;
  const share = (re: RegExp) => sample.filter((v) => re.test(v)).length / sample.length;
  // National ids before phones: an SSN's digits would also pass as a phone number.
  for (const tag of ['email', 'national_id', 'phone'] as const)
    if (share(PATTERNS[tag]) >= PII_MATCH_SHARE) return tag;
  if (NAME_HEADER.test(column) && share(NAME_VALUE) >= PII_MATCH_SHARE) return 'name';
  return null;
}

/** Detected PII tags per text column of the Parquet file (one sampling scan for all columns). */
export async function detectPii(
  ws: DuckWorkspace,
  parquet: string,
  schema: readonly ColumnSchema[],
): Promise<Record<string, PiiTag>> {
  const text = schema.filter((c) => kindOf(c.type) === 'text');
  if (text.length === 0) return {};
  const cols = text.map((c) => quoteIdent(c.name)).join(', ');
  const rows = await ws.rows(
    `SELECT ${cols} FROM read_parquet($1) USING SAMPLE reservoir(${PII_SAMPLE} ROWS) REPEATABLE (7)`,
    [parquet],
  );
  const out: Record<string, PiiTag> = {};
  text.forEach((c, i) => {
    const values = rows.map((r) => r[i]).filter((v): v is string => typeof v === 'string');
    const tag = classify(c.name, values);
    if (tag) out[c.name] = tag;
  });
  return out;
}
