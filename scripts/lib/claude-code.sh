# shellcheck shell=bash
# Claude Code, installed from npm at the pinned version for the end-to-end tests (cached).
#
# The version is set in one place, tests/producers/claude-code.version, read here and by
# the tests (tests/producers/claude_code.py), which run the binary at
#   ${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/npm/claude-code-<version>/node_modules/.bin/claude
# The package declares node >= 22; it installs and runs on node 20 (its `claude` is a
# native binary that its postinstall copies in from the platform's optional package).

claude_code_version() {
  tr -d '[:space:]' <"$(dirname "${BASH_SOURCE[0]}")/../../tests/producers/claude-code.version"
}

ensure_claude_code() {
  local version dir scratch
  version=$(claude_code_version)
  dir="${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/npm/claude-code-$version"
  [ -x "$dir/node_modules/.bin/claude" ] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    log "npm not found: the Claude Code end-to-end tests need Node.js >= 20 and npm"
    return 1
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -lt 20 ]; then
    log "Node.js $(node -v 2>/dev/null): Claude Code needs >= 20 (Debian 12's nodejs is 18; use NodeSource's or nvm's)"
    return 1
  fi
  rm -rf "$dir".partial.*  # what an interrupted install left
  log "installing Claude Code $version from npm into $dir"
  # Installed beside its final place and renamed into it: an interrupted install leaves
  # no half-filled folder that the next run would take for a whole one.
  mkdir -p "$(dirname "$dir")"
  scratch=$(mktemp -d "$dir.partial.XXXXXX")
  # The postinstall script and the optional platform package make the native binary.
  if ! npm install --prefix "$scratch" --no-save --no-audit --no-fund --loglevel=error \
      --ignore-scripts=false --include=optional "@anthropic-ai/claude-code@$version" >&2 \
    || ! timeout 60 "$scratch/node_modules/.bin/claude" --version 2>/dev/null | grep -qF "$version"; then
    rm -rf "$scratch"
    log "npm could not install a working @anthropic-ai/claude-code@$version (see above)"
    return 1
  fi
  if [ -x "$dir/node_modules/.bin/claude" ]; then
    rm -rf "$scratch"  # another run installed it meanwhile
    return 0
  fi
  rm -rf "$dir"  # a folder without the binary, left by hand
  mv -T "$scratch" "$dir"
}
