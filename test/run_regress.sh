#!/usr/bin/env bash
# pg_regress suites (sql/<feature>.sql vs expected/<feature>.out, pgTAP
# included) on a temporary instance configured by test/regress.conf.
# Assumes the extension is installed. Usage: test/run_regress.sh [test ...]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

tests=("$@")
((${#tests[@]})) || read -r -a tests <<<"$(make -s print-regress)"
# every suite relies on the helpers the setup suite creates
[[ " ${tests[*]} " == *" setup "* ]] || tests=(setup "${tests[@]}")

work=$(make_scratch_dir regress)
trap 'rm -rf "$work"' EXIT
cp -r sql expected test/regress.conf "$work/"
plugin_libraries_conf >>"$work/regress.conf"
[[ $(id -u) -eq 0 ]] && chown -R postgres: "$work"

cd "$work"
status=0
as_pg_user "$PG_REGRESS" --bindir="$PG_BINDIR" --inputdir="$work" --outputdir="$work" \
  --temp-instance="$work/tmp_check" --temp-config="$work/regress.conf" \
  --dbname=contrib_regression "${tests[@]}" || status=$?
if ((status != 0)); then
  [[ -f regression.diffs ]] && cp regression.diffs "$REPO_ROOT/regression.diffs" && cat regression.diffs
  [[ -d results ]] && rm -rf "$REPO_ROOT/results" && cp -r results "$REPO_ROOT/results"
  echo "run_regress: failed; diffs in $REPO_ROOT/regression.diffs, outputs in $REPO_ROOT/results" >&2
fi
exit $status
