#!/usr/bin/env bash
# Creates (once) the project-local virtual environment .venv with everything lt_det needs.
#
# Idempotent: a stamp file records the hash of constraints.txt and setup.py; when it matches,
# the existing environment is reused and the script says so.
#
# detectron2 is not on PyPI. Where `import detectron2` already works for the chosen Python
# (for example a build from source with CUDA ops), that build is kept. Otherwise the
# `sal-detectron2` wheel (upstream detectron2 at commit a59f0563) is unpacked into
# .venv/detectron2-wheel and put on sys.path with a .pth file; its CPython-3.10 `_C` extension
# is never loaded (only rotated-box and deformable-conv ops are then unavailable).
#
# Environment variables:
#   LT_DET_PYTHON   interpreter used to create the venv (default: python3)
#   LT_DET_VENV     venv location (default: <repo>/.venv)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LT_DET_VENV:-$ROOT/.venv}"
PY="${LT_DET_PYTHON:-python3}"
STAMP="$VENV/.lt_det_stamp"
WANT="$(cat "$ROOT/constraints.txt" "$ROOT/setup.py" "$ROOT/tools/setup_env.sh" | sha256sum | cut -d' ' -f1)"

# lt_det's own bytecode, compiled as pip compiles an installed package's: where
# PYTHONDONTWRITEBYTECODE is set (as on this project's machines) an editable install is
# otherwise compiled from source at every start (~0.03 s of a tools/eval_lvis.py run).
# Only changed files are recompiled; a stale .pyc is never used (Python checks the mtime).
compile_bytecode() {
  "$VENV/bin/python" -m compileall -q "$ROOT/lt_det" "$ROOT/tools" >/dev/null || true
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  compile_bytecode
  echo "[setup_env] reusing $VENV (up to date)"
  exit 0
fi

echo "[setup_env] creating $VENV (first run installs torch, detectron2 and friends; a few minutes)"
# A GPU machine that already has torch in its system Python keeps it: the venv sees the
# system site-packages and pip only installs what is missing.
SYS_SITE=""
if "$PY" -c "import torch, torchvision" >/dev/null 2>&1; then
  SYS_SITE="--system-site-packages"
  echo "[setup_env] found torch in $PY; the venv will reuse it"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PY" -m venv $SYS_SITE "$VENV"
fi
VPY="$VENV/bin/python"
PIP=("$VPY" -m pip install --disable-pip-version-check -q)

if ! "$VPY" -c "import torch, torchvision" >/dev/null 2>&1; then
  "${PIP[@]}" -c "$ROOT/constraints.txt" torch torchvision
fi
# detectron2's runtime requirements (installed explicitly: the wheel goes in with --no-deps),
# the LVIS API (reference for the evaluator's equality tests), msgspec (the LVIS evaluator's
# JSON reader), hotcoco and faster-coco-eval (compared in benchmarks/bench_lvis_eval.py) and
# the test runner.
"${PIP[@]}" -c "$ROOT/constraints.txt" \
  numpy Pillow matplotlib pycocotools termcolor yacs tabulate cloudpickle tqdm tensorboard \
  omegaconf hydra-core packaging fvcore iopath "setuptools<81" scipy lvis pytest \
  msgspec hotcoco faster-coco-eval

if ! "$VPY" -c "import detectron2" >/dev/null 2>&1 || [[ -d "$VENV/detectron2-wheel" ]]; then
  D2_VERSION="$(grep -E '^sal-detectron2==' "$ROOT/constraints.txt" | cut -d= -f3)"
  rm -rf "$VENV/detectron2-wheel"
  "$VPY" -m pip install --disable-pip-version-check -q --no-deps --only-binary=:all: \
    --python-version 3.10 --target "$VENV/detectron2-wheel" "sal-detectron2==$D2_VERSION"
  # The wheel ships a top-level `tools` package and a CPython-3.10 extension; neither must
  # shadow or break anything here.
  rm -rf "$VENV/detectron2-wheel/tools" "$VENV/detectron2-wheel/bin"
  find "$VENV/detectron2-wheel/detectron2" -name '_C*.so' -delete
  SITE="$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$VENV/detectron2-wheel" > "$SITE/lt_det_detectron2.pth"
fi

"$VPY" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e "$ROOT"
"$VPY" -c "import detectron2, torch, lt_det; print('[setup_env] detectron2', detectron2.__version__, '| torch', torch.__version__, '| lt_det', lt_det.__version__)"
compile_bytecode
echo "$WANT" > "$STAMP"
echo "[setup_env] ready: $VENV"
