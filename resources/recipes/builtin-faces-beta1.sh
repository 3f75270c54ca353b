#!/usr/bin/env bash
# Reproduces the second bundled model models/weights/faces-beta1.safetensors, builtin:faces-beta1
# (see docs/bundled-model.md): builtin:faces's recipe with beta 1, to compare against it. About
# 17 min on a 2-core CPU, as builtin-faces.sh (the same network and epochs).
set -euo pipefail
cd "$(dirname "$0")/../.."
vae-explorer train --data builtin:faces --arch conv --latent-dim 16 --beta 1 --decoder-sigma 0.2 \
    --likelihood gaussian --epochs 20 --batch-size 32 --lr 1e-3 --seed 0 --device "${DEVICE:-auto}" \
    --name faces-beta1 --out "${OUT:-models/weights/faces-beta1.safetensors}" --force
