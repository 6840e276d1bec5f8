# Sourced by scripts/test.sh and scripts/quickstart.sh: installs dependencies when
# needed and starts the local MariaDB 11.8 unless MARIADB_URL points at a server.
# $1 is the log prefix.

# npm writes node_modules/.package-lock.json at the end of every install, so it is
# missing or older than package-lock.json exactly when node_modules is stale.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[$1] npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

# The admin console (ui/) is built into ui/dist, which is not committed: build it
# when it is missing or older than any of its sources or the lockfile.
if [ ! -f ui/dist/index.html ] || [ package-lock.json -nt ui/dist/index.html ] ||
   [ -n "$(find ui -path ui/dist -prune -o -type f -newer ui/dist/index.html -print -quit)" ]; then
  echo "[$1] building the admin console (npm run build:ui)" >&2
  npm run --silent build:ui >&2
fi

# The browser tests (test/ui/) need Debian's chromium; CI machines start without it.
if [ "$1" = test ]; then bash scripts/install-chromium.sh; fi

if [ -z "${MARIADB_URL:-}" ]; then
  bash scripts/mariadb-local.sh start
  MARIADB_URL=$(bash scripts/mariadb-local.sh url)
  export MARIADB_URL
fi
echo "[$1] MariaDB: $MARIADB_URL" >&2
