import type { Command } from 'commander';

// Placeholder: the `falaj keys` commands land here (owned by the helper building this part).
export function registerKeyCommands(_program: Command): void {}
