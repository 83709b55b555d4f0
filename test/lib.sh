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

# The postgresql.conf line that lets replication users decode with the
# plugins we use. Only servers built with the output_plugin_libraries
# setting know it (others would refuse to start), so it is printed only
# when the installed server has it. Extra plugin names may be given.
plugin_libraries_conf() {
  local libs="pgoutput, test_decoding, cdc_plugin"
  for extra in "$@"; do libs+=", $extra"; done
  local settings
  settings=$(as_pg_user "$PG_BINDIR/postgres" --describe-config 2>/dev/null || true)
  if grep -q "^output_plugin_libraries" <<<"$settings"; then
    echo "output_plugin_libraries = '$libs'"
  fi
}
