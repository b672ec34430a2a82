/**
 * Rewrites the bare tokens `NaN`, `Infinity` and `-Infinity` outside strings into the quoted
 * forms of protobuf's JSON mapping. Python's json.dumps writes the bare tokens by default, so
 * a hand-written client may send them; JSON.parse refuses them. Only called after JSON.parse
 * failed, so well-formed bodies pay nothing.
 */
export function quoteNonFiniteTokens(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    for (const token of ['-Infinity', 'Infinity', 'NaN']) {
      if (text.startsWith(token, i)) {
        out += `${text.slice(last, i)}"${token}"`;
        i += token.length - 1;
        last = i + 1;
        break;
      }
    }
  }
  return out + text.slice(last);
}
