import { ERROR_CODES } from './error-codes.js';

/** Renders docs/errors.md from the code table, so the documentation cannot drift from the code. */
export function renderErrorDocs(): string {
  const lines = [
    '# Error codes',
    '',
    'Every error the API returns has this shape, with a stable `code`:',
    '',
    '```json',
    '{"error": {"code": "FALAJ_VALIDATION", "message": "body/name must match pattern ...", "details": []}}',
    '```',
    '',
    'A code keeps its meaning and HTTP status once released. This file is generated from',
    '`src/core/error-codes.ts` by `npm run docs:errors`; a test fails when they disagree.',
    '',
    '| code | HTTP status | meaning |',
    '| --- | --- | --- |',
  ];
  for (const [code, { status, description }] of Object.entries(ERROR_CODES)) {
    lines.push(`| \`${code}\` | ${status} | ${description.replace(/\|/g, '\\|')} |`);
  }
  return `${lines.join('\n')}\n`;
}
