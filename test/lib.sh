# Shared helpers of the test scripts: where PostgreSQL is, and how to run
# things as the unprivileged `postgres` user (initdb refuses root).
PG_CONFIG=${PG_CONFIG:-pg_config}
command -v "$PG_CONFIG" >/dev/null || PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG_BINDIR=$("$PG_CONFIG" --bindir)
PGXS_DIR=$(dirname "$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")")
PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress"
PG_TEST_PERL="$PGXS_DIR/src/test/perl"
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Runs a command as `postgres` when we are root, as ourselves otherwise.
as_pg_user() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A scratch directory the test user owns.
make_scratch_dir() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/cdc_plugin_$1.XXXXXX")
  [[ $(id -u) -eq 0 ]] && chown postgres: "$d"
  chmod 755 "$d"
  echo "$d"
}
