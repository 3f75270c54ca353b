#!/usr/bin/env bash
# Reproduces the bundled model models/weights/faces.safetensors (see docs/bundled-model.md).
# 9 min 34 s on a 2-core CPU (measured; docs/bundled-model.md), including about 13 s to render the
# dataset; seconds on a GPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
vae-explorer train --data builtin:faces --arch conv --latent-dim 16 --beta 1 --likelihood gaussian \
    --epochs 20 --batch-size 32 --lr 1e-3 --seed 0 --device "${DEVICE:-auto}" \
    --name faces --out "${OUT:-models/weights/faces.safetensors}" --force
