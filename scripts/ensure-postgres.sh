#!/usr/bin/env bash
# Starts the local PostgreSQL 15 cluster if 127.0.0.1:5432 does not answer, and makes sure the
# `test` database exists. Used by .ci/run; harmless when PostgreSQL is already up.
set -euo pipefail

answering() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! answering; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "PostgreSQL not answering on 127.0.0.1:5432: starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 60); do answering && break; sleep 1; done
fi
if ! answering; then
  echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2
  exit 1
fi
if ! psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U postgres -d postgres -c 'create database test' >/dev/null
fi
echo "PostgreSQL ready on 127.0.0.1:5432 (database test)"
