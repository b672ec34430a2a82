// Reads a log file from the start in fixed-size chunks, and with `follow` keeps reading as it
// grows until the attempt has ended. Memory stays bounded by the chunk size whatever the log's
// size, which is why logs go to a file and never into a JS string.
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TailOptions {
  readonly follow: boolean;
  /** Resolves true once nothing more will be written (the attempt has ended). */
  readonly ended: () => Promise<boolean>;
  readonly chunkBytes?: number;
  readonly pollMs?: number;
}

export async function* tailFile(path: string, opts: TailOptions): AsyncGenerator<Uint8Array> {
  const chunk = opts.chunkBytes ?? 64 * 1024;
  const pollMs = opts.pollMs ?? 200;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let position = 0;
  try {
    for (;;) {
      handle ??= await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      // Check "ended" before reading: whatever was written before the end is then read below.
      const done = !opts.follow || (await opts.ended());
      if (handle) {
        for (;;) {
          const buf = new Uint8Array(chunk);
          const { bytesRead } = await handle.read(buf, 0, chunk, position);
          if (bytesRead === 0) break;
          position += bytesRead;
          yield buf.subarray(0, bytesRead);
        }
      }
      if (done) return;
      await sleep(pollMs);
    }
  } finally {
    await handle?.close();
  }
}
