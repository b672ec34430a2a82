const BARE = /"(?:[^"\\]|\\.)*"|-?\bInfinity\b|\bNaN\b/g;

/**
 * JSON.parse, tolerant of the bare NaN/Infinity/-Infinity tokens that Python-written JSON may
 * hold: on a first failure they are quoted (outside strings only) and parsing is tried again.
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const quoted = text.replace(BARE, (m) => (m.startsWith('"') ? m : `"${m}"`));
    if (quoted === text) throw err;
    return JSON.parse(quoted);
  }
}
