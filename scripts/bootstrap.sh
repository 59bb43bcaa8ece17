#!/usr/bin/env bash
# Installs everything Pipelet needs on a fresh Debian machine: system packages, Node/npm and bun, the
# virtualenv with the versions of requirements.lock. Idempotent and quick when nothing is missing.
# Used by `make run`, `make test` and CI. A failing step is named, with the tail of its output.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# step "what" command...: runs quietly; on failure says which step failed, shows its output, exits 1.
step() {
  local what=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "bootstrap: FAILED: $what" >&2
    echo "  command: $*" >&2
    # (pip's notes about index locations it skips are left out: they bury the error)
    grep -v '^WARNING: Location' "$log" | tail -25 | sed 's/^/  | /' >&2
    exit 1
  fi
}

apt_install() {
  step "apt-get update" $SUDO apt-get update -qq
  step "apt-get install $*" $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v pdftotext >/dev/null || need_apt+=(poppler-utils)
ldconfig -p | grep -q libpangoft2-1.0 || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
# The MQTT broker `pipelet run` starts when none listens on MQTT_URL (site energy data).
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
# bun comes from the npm registry, so npm (and Node, which Reflex also checks) is needed first.
command -v npm >/dev/null || need_apt+=(nodejs npm)
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ] && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  need_apt+=("$(basename "$PYTHON")-venv")
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need_apt[*]}"
  apt_install "${need_apt[@]}"
fi

# Reflex downloads bun from the internet unless it finds one; the npm registry has it.
if ! command -v bun >/dev/null; then
  echo "bootstrap: installing bun from npm"
  step "npm install -g bun" $SUDO npm install -g bun
fi

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $PYTHON"
  step "create the virtualenv" "$PYTHON" -m venv .venv
fi
# Reflex wants Node >= 22; with an older one it falls back to bun's runtime and warns on every start.
# Debian's nodejs is older, so a Node 22 from the npm registry goes into .venv/node (`pipelet run` puts it
# first on its children's PATH); the system's Node is left alone.
node_major=$(node --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')
if [ "${node_major:-0}" -lt 22 ] && [ ! -x .venv/node/node_modules/.bin/node ]; then
  echo "bootstrap: Node ${node_major:-none} is older than Reflex's minimum 22; installing Node 22 into .venv/node"
  step "npm install node@22 into .venv/node" npm install --prefix .venv/node --no-save --no-audit --no-fund node@22
fi

stamp=.venv/.pipelet-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  echo "bootstrap: installing Python dependencies (versions from requirements.lock)"
  # PIP_CONSTRAINT also reaches pip's isolated build of this package (setuptools as locked).
  export PIP_CONSTRAINT="$PWD/requirements.lock"
  step "pip install pip (locked version)" .venv/bin/pip install --upgrade pip
  step "pip install -e '.[test]'" .venv/bin/pip install -e '.[test]'
  touch "$stamp"
fi
