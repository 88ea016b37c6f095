#!/usr/bin/env bash
# The waking page is tested in a real headless Chromium (test/waking-page.test.ts). On a fresh
# Debian machine (as root) Debian's chromium package is installed; elsewhere this says how.
# Prints the browser's path. Nothing is started here: the test starts its own browser.
set -euo pipefail
for candidate in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium package for the waking-page browser test" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  echo /usr/bin/chromium
  exit 0
fi
echo "ensure-chromium: the waking-page test needs Chromium. Install it (e.g. 'sudo apt-get install chromium') or set CHROMIUM=/path/to/chromium, and run the tests again." >&2
exit 1
