// Small integer ids for job shapes (GPU type, GPUs, CPUs, memory, nodes, time limit), so the
// per-pass caches of "this shape fits nowhere" are keyed by numbers: building a string key for
// each of 10,000 jobs was a large part of a pass.
type Level = Map<number, Level | number>;

export class ShapeIds {
  private readonly root: Level = new Map();
  private next = 0;

  id(...parts: number[]): number {
    let level = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const k = parts[i] as number;
      let nextLevel = level.get(k) as Level | undefined;
      if (nextLevel === undefined) {
        nextLevel = new Map();
        level.set(k, nextLevel);
      }
      level = nextLevel;
    }
    const last = parts[parts.length - 1] as number;
    let id = level.get(last) as number | undefined;
    if (id === undefined) {
      id = this.next++;
      level.set(last, id);
    }
    return id;
  }
}
