#!/usr/bin/env bash
# What the job sandbox needs (src/jobs/sandbox/): bubblewrap, and — for servers and agents that
# run as root — the unprivileged `falaj-job` user that jobs run as. Used by .ci/run; fast and
# harmless when both are there. docs/job-sandbox.md explains the sandbox.
set -euo pipefail
say() { echo "ensure-sandbox: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v bwrap >/dev/null; then
  say "installing bubblewrap"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq bubblewrap >/dev/null
fi
if ! id falaj-job >/dev/null 2>&1; then
  say "creating the falaj-job user"
  as_root useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin falaj-job
fi
# A sandboxed `true`, as the server checks at startup.
if ! bwrap --ro-bind / / --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --proc /proc --dev /dev true; then
  echo "ensure-sandbox: bubblewrap cannot create namespaces here (kernel.unprivileged_userns_clone?)" >&2
  exit 1
fi
say "bubblewrap $(bwrap --version | awk '{print $2}') and user falaj-job ($(id -u falaj-job)) ready"
