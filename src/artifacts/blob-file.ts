import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Services } from '../http/services.js';

/**
 * Decrypts a stored blob into a local file, for tools that read files rather than streams
 * (DuckDB, tar, the trainers); returns the file's path.
 */
export async function blobToFile(svc: Services, digest: string, file: string): Promise<string> {
  await pipeline(await svc.artifacts.get(digest), createWriteStream(file));
  return file;
}
