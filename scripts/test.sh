#!/usr/bin/env bash
# The project's test command (`npm test`): installs dependencies when needed, starts
# the local MariaDB 11.8 (scripts/mariadb-local.sh) unless MARIADB_URL points at a
# server already, then runs tap. Arguments are passed to tap, e.g.
#   npm test -- test/helpers/mariadb-helper.test.ts
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/prepare.sh
. scripts/prepare.sh test

# tap must rebuild its plugin set (package.json's "tap.plugin") after a fresh install,
# or the first run fails.
npx tap build >/dev/null
exec npx tap "$@"
