// The lexer of MLflow's run filter and order_by grammar. Positions are 0-based offsets into
// the input, reported in every error so that a user can find the mistake.
import { FalajError } from '../../core/errors.js';

export type TokenKind =
  /** A bare word: `metrics.auc`, `and`, `LIKE`, `status` (letters, digits, `_` and `.`). */
  | 'name'
  /** A string in single or double quotes (double quotes also quote keys). */
  | 'string'
  /** A key in backticks. */
  | 'backtick'
  | 'number'
  /** `=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`, `==`. */
  | 'op'
  | '('
  | ')'
  | ','
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** The unescaped content for strings and backticks, the number's source text, else the text itself. */
  value: string;
  /** Offset of the token's first character. */
  pos: number;
  /** Offset just past the token's last character. */
  end: number;
  /** For strings: which quote delimited it. */
  quote?: "'" | '"';
}

/** What the grammar is being read for; only the messages differ. */
export type Subject = 'filter' | 'order_by';

export function syntaxError(subject: Subject, input: string, pos: number, message: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', `${subject}: ${message} at position ${pos}: ${input}`, {
    subject,
    position: pos,
  });
}

const NAME_START = /[A-Za-z_]/;
const NAME_PART = /[A-Za-z0-9_.]/;
const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/;
const DIGIT = /[0-9]/;

export function tokenize(input: string, subject: Subject): Token[] {
  const nul = input.indexOf('\0');
  if (nul >= 0) throw syntaxError(subject, input.replaceAll('\0', '\\0'), nul, 'unexpected NUL character');
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (c === "'" || c === '"') {
      // Like sqlparse (what MLflow lexes with), a doubled quote or a backslash before the quote
      // does not close the string; both stand for the quote. Any other backslash is kept as it
      // is, a backslash pair included (so LIKE patterns keep their \%, \_ and \\ escapes).
      let out = '';
      i++;
      for (;;) {
        if (i >= input.length) throw syntaxError(subject, input, start, `unterminated string`);
        const ch = input[i]!;
        if (ch === '\\' && i + 1 < input.length) {
          const next = input[i + 1]!;
          if (next === c) out += c;
          else out += ch + next;
          i += 2;
          continue;
        }
        if (ch === c) {
          if (input[i + 1] === c) {
            out += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        out += ch;
        i++;
      }
      tokens.push({ kind: 'string', value: out, pos: start, end: i, quote: c });
      continue;
    }
    if (c === '`') {
      const close = input.indexOf('`', i + 1);
      if (close < 0) throw syntaxError(subject, input, start, 'unterminated backtick-quoted key');
      tokens.push({ kind: 'backtick', value: input.slice(i + 1, close), pos: start, end: close + 1 });
      i = close + 1;
      continue;
    }
    if (DIGIT.test(c) || ((c === '-' || c === '+' || c === '.') && /[0-9.]/.test(input[i + 1] ?? ''))) {
      const m = NUMBER.exec(input.slice(i));
      if (!m) throw syntaxError(subject, input, start, `malformed number`);
      i += m[0].length;
      if (i < input.length && NAME_PART.test(input[i]!))
        throw syntaxError(subject, input, start, `malformed number '${input.slice(start, i + 1)}'`);
      tokens.push({ kind: 'number', value: m[0], pos: start, end: i });
      continue;
    }
    if (NAME_START.test(c)) {
      i++;
      while (i < input.length && NAME_PART.test(input[i]!)) i++;
      tokens.push({ kind: 'name', value: input.slice(start, i), pos: start, end: i });
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, value: c, pos: start, end: i + 1 });
      i++;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === '!=' || two === '<=' || two === '>=' || two === '<>' || two === '==') {
      tokens.push({ kind: 'op', value: two, pos: start, end: i + 2 });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', value: c, pos: start, end: i + 1 });
      i++;
      continue;
    }
    throw syntaxError(subject, input, start, `unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ kind: 'eof', value: '', pos: input.length, end: input.length });
  return tokens;
}
