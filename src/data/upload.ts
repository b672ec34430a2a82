// The raw request body of a version upload, written to the workspace as it arrives, with the
// artifact size limit applied while counting (the declared Content-Length may lie).
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FalajError } from '../core/errors.js';

export async function receiveBody(body: Readable, out: string, maxBytes: number): Promise<number> {
  let seen = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > maxBytes)
        cb(
          new FalajError('FALAJ_PAYLOAD_TOO_LARGE', `the file exceeds the limit of ${maxBytes} bytes`, {
            maxBytes,
          }),
        );
      else cb(null, chunk);
    },
  });
  await pipeline(body, limit, createWriteStream(out));
  return seen;
}
