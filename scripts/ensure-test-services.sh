#!/usr/bin/env bash
# Runs before `npm test`: handlers are tested against real servers, so make sure they are
# installed: redis-server (redis-prefix) and the PostgreSQL server binaries (database-template:
# initdb, pg_ctl, pg_dump, pg_restore under /usr/lib/postgresql/<major>/bin, and psql). On a
# fresh Debian machine (as root) they are installed from Debian's packages; elsewhere this says
# how to install them. Nothing is started here: the tests start their own servers. Also tmux: the
# CLI's real-terminal test (test/cli/real-protocol.test.ts) runs `staging destroy` in it.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "pretest: installing Debian's ${missing[*]} for the tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # The tests run their own servers on random loopback ports; the packaged services are not needed.
  (service redis-server stop >/dev/null 2>&1 || true)
  (service postgresql stop >/dev/null 2>&1 || true)
  exit 0
fi
echo "pretest: ${missing[*]} needed by the tests (redis-prefix, database-template, the CLI's terminal test). Install them (e.g. 'sudo apt-get install ${missing[*]}' or 'brew install redis postgresql tmux') and run npm test again." >&2
exit 1
