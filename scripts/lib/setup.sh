# shellcheck shell=bash
# The set-up scripts/test, scripts/up and scripts/bench share. Source it from the
# repository root, under `set -euo pipefail`, then call what you need:
#
#   source scripts/lib/setup.sh
#   setup_environment     # Go and Node.js on PATH, .venv with requirements-dev.txt installed
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

# Node.js and npm build Prometheus' web UI into the native binary (hypertool stack build);
# Vite 8, which builds it, needs Node.js >= 20.19. Without them, or with an older Node.js
# (Debian 12's is 18), Node.js $NODE_FALLBACK is fetched from the npm registry, where the
# official Linux build is published as node-linux-<arch>, using Debian's npm if need be.
NODE_FALLBACK=20.20.2

node_is_recent() {
  command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}

fetch_node() {
  local dir=$1 arch package scratch
  arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
  case $arch in amd64) arch=x64 ;; esac
  package="node-linux-$arch@$NODE_FALLBACK"
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      log "no npm: install Node.js >= 20.19 with npm (NodeSource's or nvm's) and run again"
      return 1
    fi
    log "no npm; installing Debian's npm to fetch $package with"
    apt-get update -qq && apt-get install -y -qq npm >/dev/null
  fi
  log "no Node.js >= 20.19 with npm (node: $(node -v 2>/dev/null || echo none)); fetching $package from npm"
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir".partial.*  # what an interrupted fetch left
  scratch=$(mktemp -d "$dir.partial.XXXXXX")
  if ! npm install --prefix "$scratch" --no-save --no-audit --no-fund --loglevel=error \
      "$package" >&2 || ! "$scratch/node_modules/node-linux-$arch/bin/node" --version >/dev/null; then
    rm -rf "$scratch"
    log "npm could not fetch a working $package (see above); run again to retry"
    return 1
  fi
  rm -rf "$dir"
  mv -T "$scratch/node_modules/node-linux-$arch" "$dir"
  rm -rf "$scratch"
}

ensure_node() {
  node_is_recent && return 0
  local dir="${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/toolchain/node-v$NODE_FALLBACK"
  [ -x "$dir/bin/node" ] || fetch_node "$dir" || return 1
  export PATH="$dir/bin:$PATH"
  if ! node_is_recent; then
    log "Node.js $dir/bin/node or npm does not run; remove $dir and run again"
    return 1
  fi
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
# shellcheck source=scripts/lib/genai-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/genai-python.sh"
# shellcheck source=scripts/lib/coding-agents.sh
source "$(dirname "${BASH_SOURCE[0]}")/coding-agents.sh"

setup_environment() {
  ensure_go
  ensure_node
  ensure_venv
}

# What only the tests need, beyond setup_environment.
setup_test_producers() {
  ensure_claude_code
  ensure_gemini_cli
  ensure_qwen_code
  ensure_codex
  ensure_opencode
  ensure_genai_python
}
