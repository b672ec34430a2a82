// Where a model version's files are. A source is
//   runs:/<run_id>/<path>                   the run's artifacts/<path> (the run must be in the project)
//   mlflow-artifacts:/<project>/<path>      a path of the project's artifact store (what MLflow clients send)
//   models:/NAME/N, models:/NAME@ALIAS      another version's files
//   s3://..., gs://..., https://...         files Falaj does not hold (recorded, never read)
// Local paths and file: URIs are refused: the server's disk is no model source.
// The format follows from the files: a folder with model.json and model.onnx is Falaj's native
// model ('falaj'), one with model.onnx or a single .onnx file is 'onnx', anything else 'external'.
import type { Readable } from 'node:stream';
import { validateArtifactPath } from '../artifacts/artifact-paths.js';
import { findArtifact, listArtifactPage } from '../artifacts/artifact-rows.js';
import { FalajError } from '../core/errors.js';
import type { Services } from '../http/services.js';
import type { Executor } from '../store/executor.js';
import { resolveModel } from './model-uri.js';
import { onnxSignature } from './onnx-signature.js';
import { type ModelVersionRow, type Signature, signatureOf } from './version-store.js';

export interface ResolvedSource {
  /** The source as recorded (what the client gave). */
  source: string;
  runId: string | null;
  /** The artifact-store path of the version's files ('' for external sources). */
  artifactPath: string;
  format: 'falaj' | 'onnx' | 'external';
  signature: Signature | null;
}

/** The largest ONNX graph read to take its signature. */
export const MAX_ONNX_BYTES = 1024 * 1024 * 1024;

function invalidSource(message: string, details?: Record<string, unknown>): FalajError {
  return new FalajError('FALAJ_MODEL_SOURCE_INVALID', message, details);
}

/** The path of a version's ONNX graph in the artifact store, if it has one. */
export function onnxPathOf(v: Pick<ModelVersionRow, 'artifact_path' | 'format'>): string | null {
  if (v.format !== 'falaj' && v.format !== 'onnx') return null;
  return v.artifact_path.endsWith('.onnx') ? v.artifact_path : `${v.artifact_path}/model.onnx`;
}

/** The run in the project, or FALAJ_MODEL_SOURCE_INVALID (the same whether it exists elsewhere or not). */
export async function requireRunInProject(
  db: Executor,
  project: { id: string; name: string },
  runId: string,
): Promise<void> {
  const row = await db
    .selectFrom('runs')
    .select('id')
    .where('id', '=', runId)
    .where('project_id', '=', project.id)
    .executeTakeFirst();
  if (!row)
    throw invalidSource(`run '${runId.slice(0, 64)}' is not a run of project '${project.name}'`, {
      run_id: runId.slice(0, 64),
    });
}

/** Reads a stream whole, refusing more than `max` bytes. */
export async function readAll(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = c as Buffer;
    n += b.length;
    if (n > max) {
      stream.destroy();
      throw new FalajError('FALAJ_PAYLOAD_TOO_LARGE', `the model file exceeds ${max} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** The signature of the ONNX file at `path` in the project's store. */
async function signatureAt(svc: Services, projectId: string, path: string): Promise<Signature | null> {
  const row = await findArtifact(svc.store.db, projectId, path);
  if (!row) return null;
  return onnxSignature(await readAll(await svc.artifacts.get(row.digest), MAX_ONNX_BYTES));
}

const RUN_ARTIFACTS = /^runs\/([0-9a-f]{32})\/artifacts(?:\/|$)/;

/** Parses and checks a source; reads the signature from the ONNX graph when there is one. */
export async function resolveSource(
  svc: Services,
  project: { id: string; name: string },
  source: string,
  givenRunId: string | null,
  opts: { requireFiles?: boolean } = {},
): Promise<ResolvedSource> {
  const db = svc.store.db;
  if (source.includes('\u0000')) throw invalidSource('the source contains a NUL character');
  let runId = givenRunId;
  let artifactPath: string;

  const runs = /^runs:\/+([^/]+)(?:\/(.*))?$/.exec(source);
  if (runs) {
    const fromUri = runs[1]!;
    if (runId && runId !== fromUri)
      throw invalidSource(`run_id '${runId}' does not match the run of the source '${source}'`);
    runId = fromUri;
    await requireRunInProject(db, project, runId);
    const sub = (runs[2] ?? '').replace(/\/+$/, '');
    artifactPath = validateArtifactPath(
      sub === '' ? `runs/${runId}/artifacts` : `runs/${runId}/artifacts/${sub}`,
    );
  } else if (source.startsWith('mlflow-artifacts:')) {
    let rest = source.slice('mlflow-artifacts:'.length);
    // mlflow-artifacts://host:port/<project>/... names the server too; the path is what counts.
    if (rest.startsWith('//')) rest = rest.slice(2).replace(/^[^/]*/, '');
    rest = rest.replace(/^\/+/, '').replace(/\/+$/, '');
    const slash = rest.indexOf('/');
    const projectName = slash < 0 ? rest : rest.slice(0, slash);
    if (projectName !== project.name)
      throw invalidSource(`the source '${source}' is not in project '${project.name}''s artifact store`);
    if (slash < 0 || slash === rest.length - 1) throw invalidSource(`the source '${source}' names no path`);
    artifactPath = validateArtifactPath(rest.slice(slash + 1));
    const m = RUN_ARTIFACTS.exec(artifactPath);
    if (m) {
      if (runId && runId !== m[1])
        throw invalidSource(`run_id '${runId}' does not match the run of the source '${source}'`);
      runId = m[1]!;
    }
    if (runId) await requireRunInProject(db, project, runId);
  } else if (source.startsWith('models:')) {
    const { version } = await resolveModel(db, project.id, source);
    if (runId) await requireRunInProject(db, project, runId);
    return {
      source,
      runId: runId ?? version.run_id,
      artifactPath: version.artifact_path,
      format: version.format as ResolvedSource['format'],
      signature: signatureOf(version),
    };
  } else if (
    /^[A-Za-z][A-Za-z0-9+.-]*:/.test(source) &&
    !/^file:/i.test(source) &&
    !/^[A-Za-z]:[\\/]/.test(source)
  ) {
    if (runId) await requireRunInProject(db, project, runId);
    return { source, runId, artifactPath: '', format: 'external', signature: null };
  } else {
    throw invalidSource(
      `the source '${source.slice(0, 200)}' is a local path: register from a run (runs:/<run_id>/<path>), an artifact URI, or upload the ONNX file`,
    );
  }

  // What the files are.
  if (artifactPath.endsWith('.onnx') && (await findArtifact(db, project.id, artifactPath))) {
    return {
      source,
      runId,
      artifactPath,
      format: 'onnx',
      signature: await signatureAt(svc, project.id, artifactPath),
    };
  }
  const onnxFile = `${artifactPath}/model.onnx`;
  if (await findArtifact(db, project.id, onnxFile)) {
    const native = await findArtifact(db, project.id, `${artifactPath}/model.json`);
    return {
      source,
      runId,
      artifactPath,
      format: native ? 'falaj' : 'onnx',
      signature: await signatureAt(svc, project.id, onnxFile),
    };
  }
  if (opts.requireFiles) {
    const page = await listArtifactPage(db, project.id, { prefix: `${artifactPath}/`, limit: 1 });
    if (page.rows.length === 0 && !(await findArtifact(db, project.id, artifactPath)))
      throw invalidSource(`there are no files under '${artifactPath}'`, { path: artifactPath });
  }
  return { source, runId, artifactPath, format: 'external', signature: null };
}
