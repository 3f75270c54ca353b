#!/usr/bin/env bash
# Reproduces the bundled model models/weights/faces.safetensors, builtin:faces (see
# docs/bundled-model.md): beta 4 with the decoder's pixel sigma fixed at 0.2, so samples from the
# prior look like faces. 16 min 49 s on a 2-core CPU (measured, two torch threads), including
# about 13 s to render the dataset; minutes on a GPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
vae-explorer train --data builtin:faces --arch conv --latent-dim 16 --beta 4 --decoder-sigma 0.2 \
    --likelihood gaussian --epochs 20 --batch-size 32 --lr 1e-3 --seed 0 --device "${DEVICE:-auto}" \
    --name faces --out "${OUT:-models/weights/faces.safetensors}" --force
