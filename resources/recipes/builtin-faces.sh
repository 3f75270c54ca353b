#!/usr/bin/env bash
# Reproduces the bundled model models/weights/faces.safetensors (see docs/bundled-model.md).
# About 12 minutes on a 2-core CPU, including rendering the dataset; seconds on a GPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
vae-explorer train --data builtin:faces --arch conv --latent-dim 16 --beta 1 --likelihood gaussian \
    --epochs 20 --batch-size 32 --lr 1e-3 --seed 0 --device "${DEVICE:-auto}" \
    --name faces --out "${OUT:-models/weights/faces.safetensors}" --force
