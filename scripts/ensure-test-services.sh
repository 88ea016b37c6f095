#!/usr/bin/env bash
# Runs before `npm test`: the redis-prefix handler is tested against a real redis-server, so make
# sure one is on PATH. On a fresh Debian machine (as root) it is installed from Debian's packages;
# elsewhere this says how to install it. Nothing is started here: the tests start their own.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "pretest: redis-server is not installed; installing Debian's redis-server package for the handler tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  # The tests run their own servers on random loopback ports; the packaged service is not needed.
  (service redis-server stop >/dev/null 2>&1 || true)
  exit 0
fi
echo "pretest: redis-server is needed by the redis-prefix handler tests. Install it (e.g. 'sudo apt-get install redis-server' or 'brew install redis') and run npm test again." >&2
exit 1
