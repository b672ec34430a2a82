import type { Command } from 'commander';

// Placeholder: the `falaj mfa` commands land here (owned by the helper building this part).
export function registerMfaCommands(_program: Command): void {}
