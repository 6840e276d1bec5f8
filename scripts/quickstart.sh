#!/usr/bin/env bash
# Starts the gateway locally in one command (`npm run quickstart`): installs
# dependencies when needed, builds dist/, starts the local MariaDB 11.8 unless MARIADB_URL is set,
# and, unless API_KEY or AUTH_DISABLED is set, generates an API key and an admin key
# (kept in .local/quickstart.env and reused by the next run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/prepare.sh
. scripts/prepare.sh quickstart

if [ -z "${API_KEY:-}" ] && [ -z "${AUTH_DISABLED:-}" ]; then
  envfile=.local/quickstart.env
  preset_admin=${ADMIN_API_KEY:-}
  if [ -s "$envfile" ]; then
    # shellcheck disable=SC1090
    . "$envfile"
    [ -z "$preset_admin" ] || ADMIN_API_KEY=$preset_admin
    echo "[quickstart] using the keys in $envfile" >&2
  else
    mkdir -p .local
    API_KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    ADMIN_API_KEY=${preset_admin:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}
    (umask 077 && printf 'API_KEY=%s\nADMIN_API_KEY=%s\n' "$API_KEY" "$ADMIN_API_KEY" >"$envfile")
    echo "[quickstart] generated keys, saved in $envfile" >&2
  fi
  export API_KEY ADMIN_API_KEY
  echo "API_KEY=$API_KEY"
  echo "ADMIN_API_KEY=$ADMIN_API_KEY"
fi

# the service runs compiled JavaScript (npm start = node dist/src/server.js)
echo "[quickstart] npm run build" >&2
npm run build --silent >&2
exec npm start
