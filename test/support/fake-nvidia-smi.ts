// A stand-in nvidia-smi reporting two H100s, for GPU tests on machines without GPUs: the server
// or agent is pointed at it with FALAJ_NVIDIA_SMI (the only part simulated; processes are real).
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes the script into `dir` and returns its path. */
export function fakeNvidiaSmi(dir: string): string {
  const smi = path.join(dir, 'nvidia-smi');
  writeFileSync(
    smi,
    '#!/bin/sh\nprintf "0, NVIDIA H100 80GB HBM3, 81559 MiB\\n1, NVIDIA H100 80GB HBM3, 81559 MiB\\n"\n',
  );
  chmodSync(smi, 0o755);
  return smi;
}
