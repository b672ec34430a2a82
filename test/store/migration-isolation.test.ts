import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeChunkV1 } from '../../src/store/migrations/0003-metric-chunks.js';
import { decodeChunk, encodeChunk } from '../../src/tracking/metric-chunk.js';

// A released migration must do what it did when it was released: it imports nothing from
// domain code, only from src/store/, src/core/ and packages.
const SRC = path.resolve(import.meta.dirname, '../../src');
const MIGRATIONS = path.join(SRC, 'store/migrations');
const ALLOWED = [path.join(SRC, 'store'), path.join(SRC, 'core')];

function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const re of [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
  ])
    for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

describe('migrations', () => {
  it('import only from src/store/, src/core/ and packages', () => {
    const files = readdirSync(MIGRATIONS).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThanOrEqual(12);
    const outside: string[] = [];
    for (const f of files) {
      for (const spec of specifiers(readFileSync(path.join(MIGRATIONS, f), 'utf8'))) {
        if (!spec.startsWith('.')) continue; // a package (kysely)
        const target = path.resolve(MIGRATIONS, spec);
        if (!ALLOWED.some((dir) => target.startsWith(dir + path.sep))) outside.push(`${f}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('the check reads every form of import', () => {
    expect(
      specifiers(
        "import { a } from '../../tracking/x.js';\nexport * from \"./y.js\";\nimport './z.js';\nawait import('../w.js');",
      ).sort(),
    ).toEqual(['../../tracking/x.js', '../w.js', './y.js', './z.js']);
  });

  it('0003 packs chunks as the live format does (while that format is unchanged)', () => {
    const s = {
      steps: Float64Array.from([0, 1, 2, 2 ** 53 - 1]),
      timestamps: Float64Array.from([1_700_000_000_000, 1, 2, 3]),
      values: Float64Array.from([0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]),
    };
    const frozen = encodeChunkV1(s);
    expect(frozen.equals(encodeChunk(s))).toBe(true);
    expect(decodeChunk(frozen, 4)).toEqual(s);
    expect(
      encodeChunkV1({
        steps: new Float64Array(),
        timestamps: new Float64Array(),
        values: new Float64Array(),
      }),
    ).toHaveLength(0);
  });
});
