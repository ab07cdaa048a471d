# shellcheck shell=bash
# The set-up scripts/test, scripts/up and scripts/bench share. Source it from the
# repository root, under `set -euo pipefail`, then call what you need:
#
#   source scripts/lib/setup.sh
#   setup_environment     # Go on PATH, .venv with requirements-dev.txt installed
#
# Everything is idempotent and cheap when already done. Expensive builds are cached
# under ~/.cache/hypertool ($HYPERTOOL_CACHE).

SETUP_NAME="scripts/$(basename "$0")"
GO_BOOTSTRAP=go1.26.8

log() { printf '[%s] %s\n' "$SETUP_NAME" "$*" >&2; }

# Go builds the collector, Prometheus and Alertmanager from the Go module proxy. Any Go
# >= 1.21 works: it fetches the newer toolchain the modules ask for through the proxy.
# Without one (Debian's golang-go is 1.19, too old to do that), the Go toolchain itself is
# fetched from the module proxy, where Go publishes it as golang.org/toolchain.
fetch_go_toolchain() {
  local goroot=$1 module scratch
  log "Go not found; fetching $GO_BOOTSTRAP from the Go module proxy"
  module="v0.0.1-$GO_BOOTSTRAP.linux-$(dpkg --print-architecture 2>/dev/null || echo amd64)"
  scratch=$(mktemp -d)
  curl -fsSL "${GOPROXY_URL:-https://proxy.golang.org}/golang.org/toolchain/@v/$module.zip" \
    -o "$scratch/go.zip"
  python3 -m zipfile -e "$scratch/go.zip" "$scratch/x"
  chmod -R u+x "$scratch/x/golang.org/toolchain@$module/bin" \
    "$scratch/x/golang.org/toolchain@$module/pkg/tool"
  mkdir -p "$(dirname "$goroot")"
  mv "$scratch/x/golang.org/toolchain@$module" "$goroot"
  rm -rf "$scratch"
}

ensure_go() {
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
      export PATH="/usr/local/go/bin:$PATH"
    else
      local goroot="$HOME/.cache/hypertool/toolchain/$GO_BOOTSTRAP"
      [ -x "$goroot/bin/go" ] || fetch_go_toolchain "$goroot"
      export PATH="$goroot/bin:$PATH"
    fi
  fi
  export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
}

ensure_venv() {
  local python="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    if ! "$python" -m venv .venv; then
      log "venv unavailable; installing Debian's python3-venv"
      rm -rf .venv
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      "$python" -m venv .venv
    fi
  fi
  log "installing Python dependencies (requirements-dev.txt)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
}

setup_environment() {
  ensure_go
  ensure_venv
}
