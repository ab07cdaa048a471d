# shellcheck shell=bash
# Codex CLI and OpenCode, installed from npm at their pinned versions for the end-to-end
# tests (cached), beside Claude Code (claude-code.sh). Uses setup.sh's `log`.
#
# Each version is set in one place, tests/producers/<name>.version, read here and by the
# tests (tests/producers/codex_cli.py, opencode.py), which run the binaries at
#   ${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/npm/codex-<version>/node_modules/.bin/codex
#   ${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/npm/opencode-<version>/node_modules/.bin/opencode
# Both packages are launchers: npm brings the native binary for linux x64 in an optional
# platform package (@openai/codex-linux-x64, opencode-linux-x64), which OpenCode's
# postinstall copies into place; Codex's launcher is a node script that runs it.

_agent_version() {
  tr -d '[:space:]' <"$(dirname "${BASH_SOURCE[0]}")/../../tests/producers/$1.version"
}

# _ensure_npm_agent NAME PACKAGE BIN: install PACKAGE@<NAME's version> into the cache unless
# a working BIN of that version is there already.
_ensure_npm_agent() {
  local name=$1 package=$2 bin=$3 version dir scratch
  version=$(_agent_version "$name")
  dir="${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/npm/$name-$version"
  [ -x "$dir/node_modules/.bin/$bin" ] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    log "npm not found: the $name end-to-end tests need Node.js and npm"
    return 1
  fi
  rm -rf "$dir".partial.*  # what an interrupted install left
  log "installing $package $version from npm into $dir"
  # Installed beside its final place and renamed into it: an interrupted install leaves
  # no half-filled folder that the next run would take for a whole one.
  mkdir -p "$(dirname "$dir")"
  scratch=$(mktemp -d "$dir.partial.XXXXXX")
  if ! npm install --prefix "$scratch" --no-save --no-audit --no-fund --loglevel=error \
      --ignore-scripts=false --include=optional "$package@$version" >&2 \
    || ! timeout 60 "$scratch/node_modules/.bin/$bin" --version 2>/dev/null | grep -qF "$version"; then
    rm -rf "$scratch"
    log "npm could not install a working $package@$version (see above)"
    return 1
  fi
  if [ -x "$dir/node_modules/.bin/$bin" ]; then
    rm -rf "$scratch"  # another run installed it meanwhile
    return 0
  fi
  rm -rf "$dir"  # a folder without the binary, left by hand
  mv -T "$scratch" "$dir"
}

ensure_codex() {
  _ensure_npm_agent codex @openai/codex codex
}

ensure_opencode() {
  _ensure_npm_agent opencode opencode-ai opencode
}
