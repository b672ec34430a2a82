import fsCb from 'node:fs';
import fs from 'node:fs/promises';
import { Writable } from 'node:stream';
import { IO_BUFFER } from './sealed-stream.js';

// Writing files that survive a crash once reported written: the local artifact store's
// uploads and sidecars.

/** Dirty bytes after which writeback is started, so the disk works while the stream goes on. */
const SYNC_EVERY = 64 * 1024 * 1024;

/**
 * A new file (O_EXCL, 0600) written from a stream and fsynced before it reports finished.
 * Every SYNC_EVERY bytes an fdatasync is started in the background: otherwise the kernel may
 * hold gigabytes of dirty pages until the final fsync, and an upload would pay for its network
 * time and then for its whole disk time, one after the other.
 */
export class DurableFile extends Writable {
  private fd = -1;
  private unsynced = 0;
  private syncing: Promise<void> | null = null;

  constructor(private readonly file: string) {
    super({ highWaterMark: 4 * IO_BUFFER });
  }

  override _construct(cb: (error?: Error | null) => void): void {
    fsCb.open(this.file, 'wx', 0o600, (err, fd) => {
      if (err) return cb(err);
      this.fd = fd;
      cb();
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.writeAll([chunk], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (error?: Error | null) => void): void {
    this.writeAll(
      chunks.map((c) => c.chunk),
      cb,
    );
  }

  private writeAll(buffers: Buffer[], cb: (error?: Error | null) => void): void {
    fsCb.writev(this.fd, buffers, (err, written) => {
      if (err) return cb(err);
      const total = buffers.reduce((n, b) => n + b.length, 0);
      this.unsynced += written;
      if (this.unsynced >= SYNC_EVERY && !this.syncing) {
        this.unsynced = 0;
        this.syncing = new Promise<void>((resolve) => fsCb.fdatasync(this.fd, () => resolve())).then(() => {
          this.syncing = null;
        });
      }
      if (written === total) return cb();
      // A short write (rare on regular files): write what is left.
      let skip = written;
      const rest: Buffer[] = [];
      for (const b of buffers) {
        if (skip >= b.length) skip -= b.length;
        else {
          rest.push(skip ? b.subarray(skip) : b);
          skip = 0;
        }
      }
      this.writeAll(rest, cb);
    });
  }

  override _final(cb: (error?: Error | null) => void): void {
    void (this.syncing ?? Promise.resolve()).then(() => fsCb.fsync(this.fd, (err) => cb(err)));
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    const fd = this.fd;
    this.fd = -1;
    if (fd < 0) {
      cb(err);
      return;
    }
    void (this.syncing ?? Promise.resolve()).then(() => fsCb.close(fd, () => cb(err)));
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeFileSynced(file: string, content: string): Promise<void> {
  const fh = await fs.open(file, 'wx', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
