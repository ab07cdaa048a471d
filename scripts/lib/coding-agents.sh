# shellcheck shell=bash
# The coding agents the end-to-end tests run (Claude Code, Gemini CLI, Qwen Code, Codex
# CLI, OpenCode), installed from npm at their pinned versions (cached). Uses setup.sh's
# `log`.
#
# Each version is set in one place, tests/producers/<name>.version, read here and by the
# tests (tests/producers/gemini_cli.py, qwen_code.py, codex_cli.py, opencode.py), which
# run the binary at
#   ${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/npm/<name>-<version>/node_modules/.bin/<bin>
# Claude Code declares node >= 22 but installs and runs on node 20 (its `claude` is a
# native binary that its postinstall copies in from the platform's optional package).
# Gemini CLI and Qwen Code are self-contained bundles (Qwen Code declares node >= 22 but
# runs headless on node 20 too). Codex CLI and OpenCode are launchers: npm brings the
# native binary for linux x64 in an optional platform package (@openai/codex-linux-x64,
# opencode-linux-x64), which OpenCode's postinstall copies into place.

coding_agent_version() {
  tr -d '[:space:]' <"$(dirname "${BASH_SOURCE[0]}")/../../tests/producers/$1.version"
}

# ensure_npm_cli NAME PACKAGE BIN: install PACKAGE@<pinned version of NAME> once.
ensure_npm_cli() {
  local name=$1 package=$2 bin=$3 version dir scratch major
  version=$(coding_agent_version "$name")
  dir="${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/npm/$name-$version"
  [ -x "$dir/node_modules/.bin/$bin" ] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    log "npm not found: the $name end-to-end tests need Node.js >= 20 and npm"
    return 1
  fi
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -lt 20 ]; then
    log "Node.js $(node -v 2>/dev/null): $name needs >= 20 (Debian 12's nodejs is 18)"
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

ensure_claude_code() {
  ensure_npm_cli claude-code @anthropic-ai/claude-code claude
}

ensure_gemini_cli() {
  ensure_npm_cli gemini-cli @google/gemini-cli gemini
}

ensure_qwen_code() {
  ensure_npm_cli qwen-code @qwen-code/qwen-code qwen
}

ensure_codex() {
  ensure_npm_cli codex @openai/codex codex
}

ensure_opencode() {
  ensure_npm_cli opencode opencode-ai opencode
}
