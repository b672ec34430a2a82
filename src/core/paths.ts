import path from 'node:path';

/** Whether `child` is `parent` or lies inside it (both resolved; no filesystem access). */
export function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
