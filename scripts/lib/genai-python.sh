# shellcheck shell=bash
# The zero-code instrumented Python producers' own venvs (pinned, cached) for the end-to-end tests.
#
# Each producer is a real SDK and its OpenTelemetry instrumentation, run under
# opentelemetry-instrument, with the exact pins of one requirements file:
#   tests/producers/genai-python-requirements.txt  the openai SDK and OpenLLMetry's
#                                                  opentelemetry-instrumentation-openai
#   tests/producers/agents-requirements.txt        the OpenAI Agents SDK and the contrib
#                                                  opentelemetry-instrumentation-openai-agents-v2
#   tests/producers/openinference-requirements.txt the openai SDK and Arize OpenInference's
#                                                  openinference-instrumentation-openai
#   tests/producers/strands-requirements.txt       Strands Agents (its own OpenTelemetry)
#   tests/producers/adk-requirements.txt           Google ADK (its own OpenTelemetry)
#   tests/producers/langgraph-requirements.txt     LangGraph and OpenLLMetry's
#                                                  opentelemetry-instrumentation-langchain
#   tests/producers/langgraph-openinference-requirements.txt
#                                                  LangGraph and Arize OpenInference's
#                                                  openinference-instrumentation-langchain
# A venv of its own each, never .venv: an instrumentation's OpenTelemetry versions must not
# change ours. One lives at
#   ${HYPERTOOL_CACHE:-$HOME/.cache/hypertool}/venvs/<name>-<hash of the requirements>
# a path computed by tests/producers/genai_python.py alone, for these functions and the tests.

# The venv directory for a requirements file (default: the GenAI one).
python_producer_dir() {
  local python="${PYTHON:-python3}" lib
  lib="$(dirname "${BASH_SOURCE[0]}")"
  "$python" "$lib/../../tests/producers/genai_python.py" "$@"
}

genai_python_dir() {
  python_producer_dir
}

# ensure_python_producer REQUIREMENTS MODULE...: the venv pinned by REQUIREMENTS, in which
# opentelemetry-instrument runs and every MODULE imports. Cached: a present one is kept.
ensure_python_producer() {
  local python="${PYTHON:-python3}" requirements=$1 venv scratch
  shift
  local imports
  imports=$(IFS=,; printf '%s' "$*")
  venv=$(python_producer_dir "$requirements") \
    || { log "could not compute the venv's path for $requirements"; return 1; }
  # Only a finished install is ever renamed into place, so a present one is whole.
  if [ -x "$venv/bin/opentelemetry-instrument" ] && "$venv/bin/python" -c '' 2>/dev/null; then
    return 0
  fi
  log "creating the producer venv for $(basename "$requirements") (pinned, about 1 minute) in $venv"
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
    || ! "$scratch/bin/python" -c "import ${imports:-opentelemetry}"; then
    rm -rf "$scratch"
    log "$requirements gave no working ${imports:-opentelemetry} and opentelemetry-instrument"
    return 1
  fi
  rm -rf "$venv"  # an unusable venv (its base Python gone): left by hand, never by this function
  mv -T "$scratch" "$venv"
  log "producer venv ready: $venv"
}

# The instrumented Python producers: the openai SDK app (OpenLLMetry, OpenInference), the
# OpenAI Agents SDK app and the agent frameworks' apps (Strands, Google ADK, LangGraph).
ensure_genai_python() {
  local producers
  producers="$(dirname "${BASH_SOURCE[0]}")/../../tests/producers"
  ensure_python_producer "$producers/genai-python-requirements.txt" \
    openai opentelemetry.instrumentation.openai || return 1
  ensure_python_producer "$producers/agents-requirements.txt" \
    agents openai opentelemetry.instrumentation.openai_agents || return 1
  ensure_python_producer "$producers/openinference-requirements.txt" \
    openai openinference.instrumentation.openai || return 1
  ensure_python_producer "$producers/strands-requirements.txt" \
    strands strands.models.openai || return 1
  ensure_python_producer "$producers/adk-requirements.txt" \
    google.adk google.genai || return 1
  ensure_python_producer "$producers/langgraph-requirements.txt" \
    langgraph langchain_openai opentelemetry.instrumentation.langchain || return 1
  ensure_python_producer "$producers/langgraph-openinference-requirements.txt" \
    langgraph langchain_openai openinference.instrumentation.langchain || return 1
}
