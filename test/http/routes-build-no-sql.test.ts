import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Route files parse, authorise and answer; the domain's store or service runs the queries
// (README, "Layout"). A route file that builds SQL is one whose table access no store owns.
const SRC = path.resolve(import.meta.dirname, '../../src');
const ROUTE_FILE = /-routes?\.ts$/;

const SQL: RegExp[] = [
  /\.(?:selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto|selectNoFrom)\s*\(/,
  /\bsql\s*(?:<[^>]*>)?\s*`/,
  /\bsql\.(?:raw|ref|table|id|lit|join)\s*\(/,
  /from\s+['"]kysely['"]/,
];

function routeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return routeFiles(p);
    return ROUTE_FILE.test(e.name) ? [p] : [];
  });
}

function sqlLines(text: string): string[] {
  return text.split('\n').filter((line) => SQL.some((re) => re.test(line)));
}

describe('route files', () => {
  it('the check catches the usual forms of a query, and not calls into a store', () => {
    for (const line of [
      "const row = await svc.store.db.selectFrom('runs').selectAll()",
      '    .insertInto("jobs")',
      "await trx.updateTable('users').set({ x: 1 })",
      "db.deleteFrom('sessions')",
      'await sql`select 1`.execute(db);',
      'sql<number>`count(*)`',
      "import { sql } from 'kysely';",
      "import type { Kysely } from 'kysely';",
    ])
      expect(sqlLines(line), line).toEqual([line]);
    for (const line of [
      'const run = await runs.get(svc.store.db, id);',
      "await audited(svc, req, (trx) => deleteSession(trx, id), { action: 'session.delete' });",
      '// selectFrom is for stores',
      'const sqlText = body.query;',
    ])
      expect(sqlLines(line), line).toEqual([]);
  });

  it('build no SQL', () => {
    const files = routeFiles(SRC);
    expect(files.length).toBeGreaterThan(20);
    const found = files.flatMap((f) =>
      sqlLines(readFileSync(f, 'utf8')).map((line) => `${path.relative(SRC, f)}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });
});
