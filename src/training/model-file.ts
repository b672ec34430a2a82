import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FalajError } from '../core/errors.js';
import type { Predictor } from './estimator.js';
import { type FalajModel, familyOfModel, findFamily, type ModelKind } from './families/index.js';

// Falaj's native model format: a directory with
//   model.json   the manifest: format name and version, model kind, task, classes, features,
//                the model's state with every typed array replaced by a reference
//                {"$array": dtype, "offset": bytes, "length": elements} into arrays.bin, the
//                SHA-256 of arrays.bin, and whatever the caller adds under "info" (metrics,
//                cross-validation, tuning)
//   arrays.bin   the typed arrays' bytes, little-endian, each at an 8-byte aligned offset
// Nothing in it depends on time or machine: the same fitted model writes byte-identical files.
export const MODEL_FORMAT = 'falaj-model';
export const MODEL_FORMAT_VERSION = 1;

export type { FalajModel, ModelKind } from './families/index.js';

const ARRAY_TYPES = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
} as const;
type DType = keyof typeof ARRAY_TYPES;
type AnyTyped = InstanceType<(typeof ARRAY_TYPES)[DType]>;

function dtypeOf(v: ArrayBufferView): DType | undefined {
  for (const [name, ctor] of Object.entries(ARRAY_TYPES)) if (v instanceof ctor) return name as DType;
  return undefined;
}

export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_FORMAT_VERSION;
  kind: ModelKind;
  task: Predictor['task'];
  classes: readonly string[];
  features: readonly string[];
  arraysSha256: string;
  state: unknown;
  info?: Record<string, unknown>;
}

/** The state with typed arrays moved out into one buffer. */
export function packState(state: unknown): { json: unknown; arrays: Buffer } {
  const parts: Buffer[] = [];
  let offset = 0;
  const walk = (v: unknown): unknown => {
    if (ArrayBuffer.isView(v)) {
      const dtype = dtypeOf(v);
      if (!dtype)
        throw new FalajError('FALAJ_MODEL_INVALID', `cannot store a ${v.constructor.name} in a model file`);
      const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      const pad = (8 - (offset % 8)) % 8;
      if (pad) parts.push(Buffer.alloc(pad));
      offset += pad;
      const ref = { $array: dtype, offset, length: (v as AnyTyped).length };
      parts.push(bytes);
      offset += bytes.length;
      return ref;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = walk(x);
      return out;
    }
    // JSON has no NaN or infinities; states keep them (history losses, thresholds).
    if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) };
    return v;
  };
  const json = walk(state);
  return { json, arrays: Buffer.concat(parts) };
}

/** The inverse of packState: references become typed arrays (copies, so they are aligned). */
export function unpackState(json: unknown, arrays: Buffer): unknown {
  const bad = (why: string) => new FalajError('FALAJ_MODEL_INVALID', `model file: ${why}`);
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ('$number' in o) {
        const n = Number(o.$number);
        if (!Number.isNaN(n) || o.$number === 'NaN') return n;
        throw bad(`bad number ${String(o.$number)}`);
      }
      if ('$array' in o) {
        const ctor = ARRAY_TYPES[o.$array as DType];
        const { offset, length } = o;
        if (
          !ctor ||
          !Number.isSafeInteger(offset) ||
          !Number.isSafeInteger(length) ||
          (offset as number) < 0 ||
          (length as number) < 0
        )
          throw bad('bad array reference');
        const end = (offset as number) + (length as number) * ctor.BYTES_PER_ELEMENT;
        if (end > arrays.length) throw bad('an array reaches past the end of arrays.bin');
        const copy = new Uint8Array(end - (offset as number));
        copy.set(arrays.subarray(offset as number, end));
        return new ctor(copy.buffer, 0, length as number);
      }
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(json);
}

/** Writes `model` to directory `dir` (created; files replaced atomically). Returns the manifest. */
export async function saveModel(
  dir: string,
  model: FalajModel,
  extra: { info?: Record<string, unknown>; onnx?: Uint8Array } = {},
): Promise<ModelManifest> {
  const family = familyOfModel(model);
  if (!family)
    throw new FalajError('FALAJ_MODEL_INVALID', 'only a built-in model can be saved as a model file');
  const { json, arrays } = packState(family.state(model));
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    kind: family.kind,
    task: model.task,
    classes: model.classes,
    features: model.featureNames,
    arraysSha256: createHash('sha256').update(arrays).digest('hex'),
    state: json,
    ...(extra.info ? { info: extra.info } : {}),
  };
  await mkdir(dir, { recursive: true });
  const put = async (name: string, data: string | Uint8Array) => {
    const tmp = path.join(dir, `.${name}.tmp`);
    await writeFile(tmp, data);
    await rename(tmp, path.join(dir, name));
  };
  await put('arrays.bin', arrays);
  if (extra.onnx) await put('model.onnx', extra.onnx);
  await put('model.json', `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

/** Reads a model directory; anything missing, altered or of an unknown format is FALAJ_MODEL_INVALID. */
export async function loadModel(dir: string): Promise<{ model: FalajModel; manifest: ModelManifest }> {
  const bad = (why: string) =>
    new FalajError('FALAJ_MODEL_INVALID', `model at ${dir}: ${why}`, { path: dir });
  let manifest: ModelManifest;
  let arrays: Buffer;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as ModelManifest;
    arrays = await readFile(path.join(dir, 'arrays.bin'));
  } catch (err) {
    throw bad(
      err instanceof SyntaxError
        ? `model.json is not valid JSON (${err.message})`
        : `cannot read it (${(err as Error).message})`,
    );
  }
  if (manifest?.format !== MODEL_FORMAT)
    throw bad('not a Falaj model (model.json has no "format": "falaj-model")');
  if (manifest.version !== MODEL_FORMAT_VERSION)
    throw bad(
      `format version ${String(manifest.version)} is not supported (this Falaj reads ${MODEL_FORMAT_VERSION})`,
    );
  if (createHash('sha256').update(arrays).digest('hex') !== manifest.arraysSha256)
    throw bad('arrays.bin does not match the digest in model.json (damaged or altered)');
  const state = unpackState(manifest.state, arrays);
  const family = findFamily(manifest.kind);
  if (!family) throw bad(`unknown model kind ${String(manifest.kind)}`);
  return { model: family.load(state), manifest };
}
