#!/usr/bin/env bash
# The project's test command (`npm test`): installs dependencies when needed, starts
# the local MariaDB 11.8 (scripts/mariadb-local.sh) unless MARIADB_URL points at a
# server already, then runs tap. Arguments are passed to tap, e.g.
#   npm test -- test/helpers/mariadb-helper.test.ts
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# npm writes node_modules/.package-lock.json at the end of every install, so it is
# missing or older than package-lock.json exactly when node_modules is stale.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[test] npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

if [ -z "${MARIADB_URL:-}" ]; then
  bash scripts/mariadb-local.sh start
  MARIADB_URL=$(bash scripts/mariadb-local.sh url)
  export MARIADB_URL
fi
echo "[test] MariaDB: $MARIADB_URL" >&2

# tap must rebuild its plugin set (package.json's "tap.plugin") after a fresh install,
# or the first run fails.
npx tap build >/dev/null
exec npx tap "$@"
