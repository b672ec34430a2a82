import { sql } from 'kysely';
import type { Executor } from '../store/executor.js';

export interface ArtifactChild {
  /** The last path segment: a file name or a directory name. */
  name: string;
  isDir: boolean;
  /** Bytes, for files. */
  size?: number;
}

/**
 * The direct children of directory `dir` ('' for the root) among a project's artifact paths,
 * sorted by name: files as they are, deeper paths folded into their first directory. (The
 * store keeps flat paths; directories exist only as prefixes, as in MLflow's stores.)
 */
export async function listChildren(db: Executor, projectId: string, dir: string): Promise<ArtifactChild[]> {
  const prefix = dir ? `${dir}/` : '';
  const rows = await db
    .selectFrom('artifacts')
    .select(['path', 'size'])
    .where('project_id', '=', projectId)
    // substr, not LIKE: LIKE is case-insensitive on SQLite and would need escaping of % and _.
    .where(sql<boolean>`substr(path, 1, length(cast(${prefix} as text))) = ${prefix}`)
    .orderBy('path')
    .execute();
  const out: ArtifactChild[] = [];
  const dirs = new Set<string>();
  for (const r of rows) {
    const rest = r.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) out.push({ name: rest, isDir: false, size: Number(r.size) });
    else {
      const name = rest.slice(0, slash);
      if (!dirs.has(name)) {
        dirs.add(name);
        out.push({ name, isDir: true });
      }
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
