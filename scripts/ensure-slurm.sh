#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine if `sinfo` does not show a usable node, so that
# the Slurm executor's tests run against the real thing (../shared/notes/slurm-local.md records
# how). Installs slurm-wlm and munge when they are missing, creates the munge key, writes a
# minimal slurm.conf (CPUs and memory from `slurmd -C`), starts munged, slurmctld and slurmd,
# and waits until the node is idle. Used by .ci/run; fast and harmless when Slurm already runs.
set -euo pipefail

started=$(date +%s)
say() { echo "ensure-slurm: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# A node that accepts work: idle, mixed or allocated (busy with someone's job is fine).
usable() { sinfo -h -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated|completing)'; }

conf_changed=0

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# munge: a key, a socket directory, and the daemon (--force: running as root is accepted).
if [ ! -s /etc/munge/munge.key ]; then
  say "creating /etc/munge/munge.key"
  as_root mkdir -p /etc/munge
  as_root dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  as_root chown munge:munge /etc/munge/munge.key
  as_root chmod 400 /etc/munge/munge.key
fi
as_root mkdir -p /run/munge
as_root chown munge:munge /run/munge
if ! (munge -n | unmunge) >/dev/null 2>&1; then
  say "starting munged"
  as_root munged --force
  for _ in $(seq 1 20); do (munge -n | unmunge) >/dev/null 2>&1 && break; sleep 0.25; done
fi

# slurm.conf: written when missing or when it is ours (the marker line); a hand-made one is kept.
conf=/etc/slurm/slurm.conf
marker='# Written by falaj scripts/ensure-slurm.sh'
if [ ! -f "$conf" ] || grep -qF "$marker" "$conf"; then
  node_line=$(slurmd -C | head -1)
  cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
  gres_types=''
  gres=''
  # GPUs when the driver is there: Slurm then sets CUDA_VISIBLE_DEVICES for --gres=gpu:N jobs.
  gpu_count=0
  if command -v nvidia-smi >/dev/null && [ -e /dev/nvidia0 ]; then
    gpu_count=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
  fi
  if [ "$gpu_count" -gt 0 ]; then
    gres_types='GresTypes=gpu'
    gres="Gres=gpu:$gpu_count"
    as_root tee /etc/slurm/gres.conf >/dev/null <<EOF
$marker
NodeName=localhost Name=gpu File=/dev/nvidia[0-$((gpu_count - 1))]
EOF
  fi
  new_conf=$(cat <<EOF
$marker
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/tmp/slurm/state
SlurmdSpoolDir=/tmp/slurm/spool
SlurmctldPidFile=/tmp/slurm/slurmctld.pid
SlurmdPidFile=/tmp/slurm/slurmd.pid
SlurmctldLogFile=/tmp/slurm/log/slurmctld.log
SlurmdLogFile=/tmp/slurm/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
# Finished jobs stay visible to scontrol for 10 minutes (there is no accounting database).
MinJobAge=600
# A cancelled job's processes get SIGKILL 2 s after SIGTERM (default 30 s) so tests end fast.
KillWait=2
$gres_types
NodeName=localhost NodeHostname=$(hostname) CPUs=${cpus:-1} RealMemory=${mem:-1000} $gres State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
)
  if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$new_conf" ]; then
    say "writing $conf (CPUs=${cpus:-1} RealMemory=${mem:-1000} GPUs=$gpu_count)"
    as_root mkdir -p /etc/slurm
    printf '%s\n' "$new_conf" | as_root tee "$conf" >/dev/null
    conf_changed=1
  fi
fi

as_root mkdir -p /tmp/slurm/state /tmp/slurm/spool /tmp/slurm/log

if [ "$conf_changed" = 0 ] && usable; then
  say "Slurm already running ($(sinfo -h -o '%P %T %c CPUs' | head -1)); nothing to do"
  exit 0
fi

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if [ "$conf_changed" = 1 ] && running /tmp/slurm/slurmctld.pid; then
  say "reloading the changed configuration (scontrol reconfigure)"
  as_root scontrol reconfigure
fi
if ! running /tmp/slurm/slurmctld.pid; then
  say "starting slurmctld"
  as_root slurmctld
fi
if ! running /tmp/slurm/slurmd.pid; then
  say "starting slurmd"
  as_root slurmd -N localhost
fi

for _ in $(seq 1 60); do
  usable && break
  # A node left down or drained by an earlier run comes back on its own only sometimes.
  if sinfo -h -o '%T' 2>/dev/null | grep -Eq '^(down|drain)'; then
    as_root scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 || true
  fi
  sleep 0.5
done
if ! usable; then
  echo "ensure-slurm: Slurm did not come up; see /tmp/slurm/log/" >&2
  sinfo >&2 || true
  exit 1
fi
say "Slurm ready in $(($(date +%s) - started)) s: $(sinfo -h -o '%P %T %c CPUs %m MB' | head -1)"
