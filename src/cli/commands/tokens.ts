import type { Command } from 'commander';

// Placeholder: the `falaj tokens` commands land here (owned by the helper building this part).
export function registerTokenCommands(_program: Command): void {}
