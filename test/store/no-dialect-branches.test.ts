import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// What differs between SQLite and PostgreSQL lives in the dialect objects of src/store/dialects/;
// code outside src/store/ asks `store.dialect` and never branches on which dialect it is.
const SRC = path.resolve(import.meta.dirname, '../../src');
const STORE = path.join(SRC, 'store');

const BRANCHES: RegExp[] = [
  /\bdialect(?:\.name)?\s*[!=]==?/,
  /[!=]==?\s*['"`](?:sqlite|postgres)['"`]/,
  /['"`](?:sqlite|postgres)['"`]\s*[!=]==?/,
  /\bcase\s+['"`](?:sqlite|postgres)['"`]\s*:/,
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return p === STORE ? [] : sourceFiles(p);
    return /\.[cm]?ts$/.test(e.name) ? [p] : [];
  });
}

function dialectBranches(text: string): string[] {
  return text.split('\n').filter((line) => BRANCHES.some((re) => re.test(line)));
}

describe('dialect branches', () => {
  it('the check catches the usual forms of a branch, and not the calls that replace them', () => {
    for (const line of [
      "const pg = dialect === 'postgres';",
      "if (this.dialect !== 'sqlite') return;",
      "store.dialect.name === 'postgres' ? a : b",
      "'sqlite' === dialect",
      "    case 'postgres':",
    ])
      expect(dialectBranches(line), line).toEqual([line]);
    for (const line of ['return dialect.like(column, value);', 'const lock = dialect.forUpdate();'])
      expect(dialectBranches(line), line).toEqual([]);
  });

  it('none outside src/store/', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((f) =>
      dialectBranches(readFileSync(f, 'utf8')).map((line) => `${path.relative(SRC, f)}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });
});
