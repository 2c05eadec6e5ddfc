#!/bin/sh
# Creates the virtual environment with torch, for `make lab` / `make test` (see the Makefile's TORCH_* knobs).
#
#   torch already importable by $PYTHON  -> reused (the venv sees its site-packages); TORCH_REUSE=no skips this
#   Linux without a working nvidia-smi    -> the CPU-only build from PyTorch's CPU wheel index (about 200 MB)
#   an NVIDIA GPU, macOS, Windows         -> PyPI's default build (CUDA on Linux: several GB)
#   TORCH_INDEX=cpu | pypi | cu126 | <URL> overrides the choice; TORCH_SPEC the requirement (torch==2.13.0).
set -eu
: "${PYTHON:=python3}" "${VENV:=.venv}" "${TORCH_SPEC:=torch==2.13.0}" "${TORCH_INDEX:=auto}" "${TORCH_REUSE:=auto}"

if [ "$TORCH_REUSE" != no ] && version=$("$PYTHON" -c "import torch; print(torch.__version__)" 2>/dev/null); then
  echo "torch $version is already installed for $PYTHON: reusing it (TORCH_REUSE=no installs $TORCH_SPEC in $VENV)"
  "$PYTHON" -m venv --system-site-packages "$VENV"
else
  "$PYTHON" -m venv "$VENV"
fi
py="$VENV/bin/python"
"$py" -m pip install --upgrade pip
if "$py" -c "import torch" 2>/dev/null; then
  exit 0
fi

index="$TORCH_INDEX"
if [ "$index" = auto ]; then
  if [ "$(uname -s)" = Linux ] && ! { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }; then
    index=cpu
  else
    index=pypi
  fi
fi
case "$index" in
  pypi) url="" ;;
  cpu | cu[0-9]* | rocm[0-9]*) url="https://download.pytorch.org/whl/$index" ;;
  *) url="$index" ;;
esac
if [ -z "$url" ]; then
  echo "installing $TORCH_SPEC from PyPI (its default build: CUDA on Linux; TORCH_INDEX=cpu for the CPU-only one)"
  "$py" -m pip install "$TORCH_SPEC"
else
  echo "installing $TORCH_SPEC from $url (TORCH_INDEX=$index; TORCH_INDEX=pypi for PyPI's default build)"
  # torch alone from that index; its dependencies (sympy, networkx, ...) from the usual one, next.
  "$py" -m pip install "$TORCH_SPEC" --no-deps --index-url "$url"
  "$py" -m pip install "$TORCH_SPEC"
fi
