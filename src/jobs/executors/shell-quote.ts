// Quoting for the few places where Falaj must write a shell script (Slurm batch scripts): each
// argument becomes one single-quoted word, so nothing in it is expanded or split.

export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function shellQuoteArgv(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
