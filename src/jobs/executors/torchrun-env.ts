// The torchrun environment (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, ...) for one
// process of a distributed job, so that a script written for `torchrun` runs unchanged when
// Falaj starts its processes directly.

export interface RankLayout {
  readonly masterAddr: string;
  readonly masterPort: number;
  readonly nodes: number;
  readonly procsPerNode: number;
  readonly nodeRank: number;
  readonly localRank: number;
}

export function torchrunEnv(l: RankLayout): Record<string, string> {
  const world = l.nodes * l.procsPerNode;
  return {
    MASTER_ADDR: l.masterAddr,
    MASTER_PORT: String(l.masterPort),
    WORLD_SIZE: String(world),
    RANK: String(l.nodeRank * l.procsPerNode + l.localRank),
    LOCAL_RANK: String(l.localRank),
    LOCAL_WORLD_SIZE: String(l.procsPerNode),
    GROUP_RANK: String(l.nodeRank),
    NODE_RANK: String(l.nodeRank),
  };
}
