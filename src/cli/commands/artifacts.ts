import type { Command } from 'commander';

// Placeholder: the `falaj artifacts` commands land here (owned by the helper building this part).
export function registerArtifactCommands(_program: Command): void {}
