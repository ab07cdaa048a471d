# shellcheck shell=bash
# The zero-code instrumented OpenAI app's own venv (pinned, cached) for the end-to-end tests.
#
# The real openai SDK and OpenLLMetry's opentelemetry-instrumentation-openai, run under
# opentelemetry-instrument, with the exact pins of tests/producers/genai-python-requirements.txt.
# A venv of its own, never .venv: the instrumentation's OpenTelemetry versions must not
# change ours. It lives at
#   ${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/venvs/genai-python-<hash of the requirements>
# a path computed by tests/producers/genai_python.py alone, for this function and the tests.

genai_python_dir() {
  local python="${PYTHON:-python3}" lib
  lib="$(dirname "${BASH_SOURCE[0]}")"
  "$python" "$lib/../../tests/producers/genai_python.py"
}

ensure_genai_python() {
  local python="${PYTHON:-python3}" requirements venv scratch
  requirements="$(dirname "${BASH_SOURCE[0]}")/../../tests/producers/genai-python-requirements.txt"
  venv=$(genai_python_dir) || { log "could not compute the GenAI producer venv's path"; return 1; }
  # Only a finished install is ever renamed into place, so a present one is whole.
  if [ -x "$venv/bin/opentelemetry-instrument" ] && "$venv/bin/python" -c '' 2>/dev/null; then
    return 0
  fi
  log "creating the OpenAI-instrumentation venv (pinned, about 1 minute) in $venv"
  # Built beside its final place and renamed into it: an interrupted install leaves no
  # half-filled venv that the next run would take for a whole one.
  mkdir -p "$(dirname "$venv")"
  rm -rf "$venv".partial.*  # what an interrupted install left
  scratch=$(mktemp -d "$venv.partial.XXXXXX")
  if ! "$python" -m venv --prompt "$(basename "$venv")" "$scratch" \
    || ! "$scratch/bin/python" -m pip install --quiet --disable-pip-version-check \
      --no-input -r "$requirements" >&2; then
    rm -rf "$scratch"
    log "pip could not install $requirements"
    return 1
  fi
  # A venv's scripts name its interpreter by absolute path (opentelemetry-instrument's
  # shebang, bin/activate): point them at the final place before moving there.
  { grep -rlF -- "$scratch" "$scratch/bin" || true; } | while IFS= read -r file; do
    sed -i "s|$scratch|$venv|g" "$file"
  done
  if [ ! -x "$scratch/bin/opentelemetry-instrument" ] \
    || ! "$scratch/bin/python" -c 'import openai, opentelemetry.instrumentation.openai'; then
    rm -rf "$scratch"
    log "$requirements gave no working openai, instrumentation and opentelemetry-instrument"
    return 1
  fi
  rm -rf "$venv"  # an unusable venv (its base Python gone): left by hand, never by this function
  mv -T "$scratch" "$venv"
  log "GenAI producer venv ready: $venv"
}
