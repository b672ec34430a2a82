// A fixed-size block cutter for the sealed-stream format (sealed-stream.ts): the sealer cuts
// plaintext into chunks, the opener cuts sealed bytes into chunk-plus-tag blocks.

/**
 * Cuts a byte stream into blocks of a fixed size, always holding the latest block back (even a
 * full one): only the end of the stream can tell which block is the last, and the last block
 * is sealed and opened differently. Blocks handed to `onBlock` may be reused afterwards.
 */
export class BlockSplitter {
  private readonly pending: Buffer;
  private filled = 0;

  constructor(readonly size: number) {
    this.pending = Buffer.allocUnsafe(size);
  }

  feed(chunk: Buffer, onBlock: (block: Buffer) => void): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.filled === this.size) {
        onBlock(this.pending);
        this.filled = 0;
      }
      const left = chunk.length - off;
      // More than a whole block left in this piece: use it in place, it cannot be the last.
      if (this.filled === 0 && left > this.size) {
        onBlock(chunk.subarray(off, off + this.size));
        off += this.size;
        continue;
      }
      const n = Math.min(this.size - this.filled, left);
      chunk.copy(this.pending, this.filled, off, off + n);
      this.filled += n;
      off += n;
    }
  }

  /** The block held back: the last one, once the input has ended. */
  rest(): Buffer {
    return this.pending.subarray(0, this.filled);
  }
}
