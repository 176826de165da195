#!/usr/bin/env bash
# One short GPU check for a lent GPU machine: can membank's embedders run on CUDA there, and how many texts/s
# on the GPU against the CPU for the same model. Prints what is missing instead of claiming GPU support.
#   bash scripts/gpu-check.sh            (from the repository root, with node_modules installed)
set -u
cd "$(dirname "$0")/.."
missing=0
echo "== GPU"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
  echo "MISSING: nvidia-smi (no NVIDIA driver visible)"; missing=1
fi
echo "== Node.js"
if command -v node >/dev/null; then node --version; else echo "MISSING: Node.js 20+"; exit 2; fi
if [ ! -d node_modules/onnxruntime-node ]; then
  echo "MISSING: node_modules (run npm ci; the CUDA providers need it run WITHOUT ONNXRUNTIME_NODE_INSTALL=skip)"; exit 2
fi
echo "== onnxruntime CUDA provider"
if ls node_modules/onnxruntime-node/bin/napi-v6/linux/x64/ 2>/dev/null | grep -q cuda; then
  echo "present"
else
  echo "MISSING: libonnxruntime_providers_cuda.so (npm ci with ONNXRUNTIME_NODE_INSTALL=skip leaves it out)"; missing=1
fi
for lib in libcudart.so.12 libcublasLt.so.12 libcudnn.so.9; do
  ldconfig -p | grep -q "$lib" && echo "$lib: found" || { echo "MISSING: $lib (CUDA 12 and cuDNN 9)"; missing=1; }
done
echo "== texts/s, CPU against GPU"
node --import tsx scripts/gpu-check.ts
status=$?
[ "$missing" = 0 ] || echo "Some GPU prerequisites are missing (above): the GPU rows fall back to the CPU or fail."
exit $status
