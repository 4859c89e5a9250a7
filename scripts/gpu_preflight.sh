#!/usr/bin/env bash
# `make gpu-preflight`: check on this CPU machine, before any GPU time is spent, that
# `PYTHONPATH=src python3 -m actbench gpu-check` will run on the lent GPU machine, whose
# image has Python 3.12, torch 2.11, triton 3.6, numpy, pandas and pyarrow, and no
# Snakemake, mkdocs or jsonschema (it may lack tqdm and PyYAML too: we use none of them).
#
# Steps (each one's log: build/gpu-preflight/<step>.log); every step runs, then a summary:
#   venv      a throw-away venv with only triton 3.6, torch (2.13.0, the CPU wheel on disk
#             here: 2.11 has no CPU wheel on PyPI), numpy, pandas, pyarrow
#   bare      that venv really lacks the packages the image lacks (else the rest proves nothing)
#   aot       every kernel variant compiled by triton 3.6 for sm_80 and sm_90, PTX checked:
#             128-bit loads/stores, no spills (python -m actbench.kernels.aot)
#   refusal   gpu-check without a GPU imports its whole command line and says so (exit 2)
#   rehearsal gpu-check --rehearse, every stage end to end in that venv (CPU, interpreter)
#   py312     the package byte-compiles under Python 3.12, if one is installed here
set -u
cd "$(dirname "$0")/.."
DIR=build/gpu-preflight
VENV=$DIR/venv
PY=$VENV/bin/python
LACKING="snakemake mkdocs jsonschema tqdm yaml matplotlib seaborn scipy"
export PYTHONPATH=src TRITON_CACHE_DIR=$DIR/triton-cache TRITON_DEFAULT_FP_FUSION=1
unset TRITON_INTERPRET
mkdir -p "$DIR"
summary=() failed=0

step() {  # step NAME COMMAND...: run it, log it, remember PASS/FAIL
    local name=$1; shift
    echo "== gpu-preflight: $name"
    if "$@" > "$DIR/$name.log" 2>&1; then
        summary+=("PASS  $name: $(tail -n 1 "$DIR/$name.log")")
    else
        failed=1
        summary+=("FAIL  $name (see $DIR/$name.log): $(tail -n 1 "$DIR/$name.log")")
        tail -n 20 "$DIR/$name.log"
    fi
}

make_venv() {
    if [ ! -f "$VENV/.stamp" ]; then
        rm -rf "$VENV" && python3 -m venv "$VENV" &&
        "$PY" -m pip install --quiet torch==2.13.0 'triton==3.6.*' numpy pandas pyarrow &&
        touch "$VENV/.stamp" || return 1
    fi
    "$PY" -c 'import sys, torch, triton; print(f"python {sys.version.split()[0]}, torch {torch.__version__}, triton {triton.__version__}")'
}

check_bare() {
    "$PY" -c '
import importlib.util, sys, triton
present = [m for m in sys.argv[1:] if importlib.util.find_spec(m)]
assert triton.__version__.startswith("3.6."), f"triton {triton.__version__} in the venv, expected 3.6"
print(f"venv has none of: {sys.argv[1:]}" if not present else f"venv HAS {present}")
sys.exit(1 if present else 0)' $LACKING
}

check_refusal() {
    "$PY" -m actbench gpu-check > "$DIR/refusal.out" 2>&1
    local rc=$?
    cat "$DIR/refusal.out"
    [ $rc -eq 2 ] && grep -q "gpu-check needs a CUDA GPU" "$DIR/refusal.out" &&
        echo "no GPU: exit 2 with the message, after importing the command line"
}

rehearse() {
    rm -rf "$DIR/results" "$DIR/out"
    "$PY" -m actbench gpu-check --rehearse --results "$DIR/results" --out "$DIR/out" &&
        echo "rehearsal OK: $(ls "$DIR"/out/*/ | tr '\n' ' ')"
}

py312() {
    local py
    py=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 2>/dev/null | tail -n 1)
    py=${py:-$(command -v python3.12)}
    if [ -z "$py" ] || ! "$py" -c pass 2>/dev/null; then
        echo "SKIPPED: no Python 3.12 here"; return 0
    fi
    PYTHONPYCACHEPREFIX="$DIR/pycache312" "$py" -m compileall -q src/actbench && echo "$("$py" --version): src/actbench byte-compiles"
}

step venv make_venv
if [ $failed -eq 0 ]; then
    step bare check_bare
    step aot "$PY" -m actbench.kernels.aot --arch 80 90
    step refusal check_refusal
    step rehearsal rehearse
fi
step py312 py312

echo
echo "================ gpu-preflight summary ================"
printf '%s\n' "${summary[@]}"
if [ -f "$DIR/aot.log" ]; then echo "PTX per target and dtype:"; grep '^sm_' "$DIR/aot.log" | sed 's/^/  /'; fi
if [ $failed -ne 0 ]; then echo "gpu-preflight: FAILED"; exit 1; fi
echo "gpu-preflight: OK (the device command is in docs/reproduce.md, section GPU)"
