import type { Command } from 'commander';

// Placeholder: the `falaj audit` commands land here (owned by the helper building this part).
export function registerAuditCommands(_program: Command): void {}
