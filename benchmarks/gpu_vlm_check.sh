#!/usr/bin/env bash
# GPU check of the VLM oracle's throughput (issue 18): end-to-end `ovbench vlm-oracle` loop vs the
# dense forward alone, for convnext_large_d_320 at short800 and ViT-B-16 at long512 and short800
# (random weights, same compute as real ones), on data written by `ovbench generate`.
#
# Needs only this checkout, a python3 with torch (and numpy, pillow, pyyaml, tqdm, networkx,
# scipy, pandas), and a folder of wheels for what the GPU image lacks. Made here with
#   python3 -m pip download --no-deps --only-binary=:all: -d wheels \
#       open_clip_torch==3.3.0 timm==1.0.31 ftfy==6.3.1 wcwidth==0.9.4
# (wcwidth: ftfy needs it). Nothing is installed into the system: the wheels go to a temporary
# --target folder on PYTHONPATH, and ovbench is imported from the checkout (a folder of symlinks
# laid out as the installed package), so no build step runs.
#
# usage:  bash benchmarks/gpu_vlm_check.sh WHEELS_DIR [DEVICE] [IMAGES]
#         DEVICE default cuda (cpu works too); IMAGES default 192 (cuda) / 6 (cpu)
#         env: PYTHON (default python3), OUT (default: a temporary folder; the log goes there),
#              MODELS_E2E to override the model list, e.g. "ovb-tiny-vit:long512"
# It prints one table per model (end-to-end img/s, dense-only img/s, ratio vs the target 1.5,
# device busy fraction, GPU utilisation) and the log path. Sized to finish in < 5 min on an H200 with
# 16 CPUs (an estimate: the script has run on CPU only, with tiny models, in a simulated GPU image).
set -euo pipefail

WHEELS=${1:?usage: bash benchmarks/gpu_vlm_check.sh WHEELS_DIR [DEVICE] [IMAGES]}
DEVICE=${2:-cuda}
if [[ "$DEVICE" == cpu ]]; then IMAGES=${3:-6}; else IMAGES=${3:-192}; fi
PY=${PYTHON:-python3}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ovb_gpu_vlm.XXXXXX")
OUT=${OUT:-$WORK}
mkdir -p "$OUT"
LOG="$OUT/gpu_vlm_check.log"
T0=$(date +%s)

# 1. open_clip / timm / ftfy (+ wcwidth) from the wheels, unless this python already has them
if ! "$PY" -c "import open_clip, timm, ftfy" 2>/dev/null; then
    shopt -s nullglob
    wheels=("$WHEELS"/*.whl)
    if (( ${#wheels[@]} == 0 )); then echo "gpu_vlm_check: no *.whl in $WHEELS" >&2; exit 2; fi
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$WORK/site" "${wheels[@]}"
    export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
fi

# 2. ovbench from this checkout: the installed package's layout (pyproject's package-dir) as symlinks
if ! "$PY" -c "import ovbench, os, sys; sys.exit(os.path.realpath(ovbench.__file__) != os.path.realpath('$REPO/benchmark/__init__.py'))" 2>/dev/null; then
    mkdir -p "$WORK/pkg/ovbench"
    for f in "$REPO"/benchmark/*; do ln -s "$f" "$WORK/pkg/ovbench/$(basename "$f")"; done
    for d in adapters taxonomies leaderboard; do ln -s "$REPO/$d" "$WORK/pkg/ovbench/$d"; done
    export PYTHONPATH="$WORK/pkg:$PYTHONPATH"
fi
missing=$("$PY" - <<'EOF'
import importlib
need = ["torch", "open_clip", "timm", "ftfy", "numpy", "PIL", "yaml", "tqdm", "networkx", "scipy", "pandas",
        "ovbench.vlm.run", "ovbench.cli.vlm_oracle", "ovbench.data.synthetic"]
bad = []
for m in need:
    try:
        importlib.import_module(m)
    except Exception as exc:
        bad.append(f"{m} ({type(exc).__name__}: {exc})")
print("; ".join(bad))
EOF
)
if [[ -n "$missing" ]]; then echo "gpu_vlm_check: cannot import: $missing (add wheels for them to $WHEELS)" >&2; exit 2; fi

export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
{
    echo "# gpu_vlm_check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# checkout $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'), python $("$PY" -c 'import sys; print(sys.version.split()[0])')"
    if [[ "$DEVICE" == cuda* ]]; then nvidia-smi --query-gpu=name,driver_version,memory.used,utilization.gpu --format=csv,noheader 2>/dev/null || true; fi
} | tee "$LOG"

# 3. data once (ovbench generate), then one benchmark process per model (models differ in protocol)
"$PY" -m ovbench generate --out "$WORK/data" --images "$IMAGES" --workers "$(nproc)" 2>&1 | tail -1 | tee -a "$LOG"
if [[ "$DEVICE" == cpu ]]; then THREADS=$(nproc); else THREADS=4; fi
RUNS=${MODELS_E2E:-"convnext_large_d_320:short800 ViT-B-16:long512,short800"}
if [[ "$DEVICE" == cpu && -z "${MODELS_E2E:-}" ]]; then RUNS="ovb-tiny-convnext-mlp:short800 ovb-tiny-vit:long512,short800"; fi
for run in $RUNS; do
    model=${run%%:*}; protocols=${run#*:}
    "$PY" "$REPO/benchmarks/bench_vlm.py" --end-to-end --device "$DEVICE" --data "$WORK/data" --models "$model" \
        --resolutions ${protocols//,/ } --threads "$THREADS" 2>&1 | tee -a "$LOG"
done
echo "# total $(( $(date +%s) - T0 )) s; log: $LOG" | tee -a "$LOG"
