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
  log "no Go >= 1.21 found; fetching $GO_BOOTSTRAP from the Go module proxy"
  module="v0.0.1-$GO_BOOTSTRAP.linux-$(dpkg --print-architecture 2>/dev/null || echo amd64)"
  # Unpacked beside its final place and renamed into it: an interrupted fetch leaves no
  # half-copied toolchain that the next run would take for a whole one.
  mkdir -p "$(dirname "$goroot")"
  scratch=$(mktemp -d "$goroot.partial.XXXXXX")
  curl -fsSL "${GOPROXY_URL:-https://proxy.golang.org}/golang.org/toolchain/@v/$module.zip" \
    -o "$scratch/go.zip" || { rm -rf "$scratch"; return 1; }
  python3 -m zipfile -e "$scratch/go.zip" "$scratch/x"
  chmod -R u+x "$scratch/x/golang.org/toolchain@$module/bin" \
    "$scratch/x/golang.org/toolchain@$module/pkg/tool"
  mv "$scratch/x/golang.org/toolchain@$module" "$goroot"
  rm -rf "$scratch"
}

# Whether the `go` on PATH can build the stack: >= 1.21 fetches newer toolchains itself.
go_is_recent() {
  local version minor
  command -v go >/dev/null 2>&1 || return 1
  version=$(go env GOVERSION 2>/dev/null) || return 1  # go1.19 and later answer this
  minor=$(printf '%s' "$version" | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
  [ -n "$minor" ] && [ "$minor" -ge 21 ]
}

ensure_go() {
  if ! go_is_recent && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  fi
  if ! go_is_recent; then
    local goroot="${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/toolchain/$GO_BOOTSTRAP"
    [ -x "$goroot/bin/go" ] || fetch_go_toolchain "$goroot"
    export PATH="$goroot/bin:$PATH"
  fi
  export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
}

ensure_venv() {
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    log "$python is $("$python" -V 2>&1): hypertool needs Python >= 3.11 (set PYTHON=python3.11)"
    return 1
  fi
  if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    log ".venv has $(.venv/bin/python -V 2>&1); making it again with $python"
    rm -rf .venv
  fi
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

# The foreign GenAI producers the end-to-end tests run for real.
# shellcheck source=scripts/lib/claude-code.sh
source "$(dirname "${BASH_SOURCE[0]}")/claude-code.sh"
# shellcheck source=scripts/lib/genai-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/genai-python.sh"

setup_environment() {
  ensure_go
  ensure_venv
}

# What only the tests need, beyond setup_environment.
setup_test_producers() {
  ensure_claude_code
  ensure_genai_python
}
