#!/usr/bin/env bash
# Installs the Debian 12 packages cdc_plugin builds, tests and demos with,
# but only those that are missing: `apt-get update` runs once, and only
# when something has to be installed. Needs root (or sudo) for that case.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
  postgresql-15-wal2json postgresql-15-decoderbufs
  librdkafka-dev libprotobuf-dev protobuf-compiler libgtest-dev
  libipc-run-perl kcat python3-psycopg2 python3-protobuf
  prometheus-postgres-exporter jq
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

# Server, client and headers must be one version: when the headers are
# installed or differ from the server, upgrade the server along with them.
version_of() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
if [[ " ${missing[*]} " == *" postgresql-server-dev-15 "* ]] ||
   [[ $(version_of postgresql-15) != "$(version_of postgresql-server-dev-15)" ]]; then
  for p in postgresql-15 postgresql-client-15; do
    [[ " ${missing[*]} " == *" $p "* ]] || missing+=("$p")
  done
fi

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
