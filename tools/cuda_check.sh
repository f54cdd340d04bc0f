#!/usr/bin/env bash
# The CUDA checks, for a machine with an NVIDIA GPU, its driver, and PyTorch
# with CUDA (developer tool; CI has no GPU and only compiles the feature):
#
#   1. the parity tests on CUDA: mapping, truncation, synthesis with stored
#      noise, w2sub34, sub2w and the e4e photo encoder against the PyTorch
#      fixtures (≤ 1e-4), FairFace against torchvision (≤ 1e-4), dlib's face
#      descriptor against dlib-bin (≤ 1e-3) and `famsim eval --device cuda`
#      against the CPU run, and a scenario on Cuda(0) against the CPU run: the
#      tests CI (.ci/run) runs on wgpu, written once over the backend. CI=true
#      makes a GPU that cannot be used a failure instead of a skip, and so
#      also dlib's model files missing: run .ci/run's face_recognition_models
#      step first (it unpacks them under ~/.cache/famsim-models);
#   2. synthesis throughput at 1024 px, batch 8: famsim's `synthesis_cuda`
#      criterion bench next to PyTorch eager on the same GPU, and the ratio.
#
#   tools/cuda_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CI=true cargo test --release --locked --features cuda \
    --test stylegan2_parity --test stylegene_parity --test e4e_parity --test neural_cli \
    --test fairface_parity --test descriptor_parity cuda
bench=$(cargo bench --locked --features cuda --bench generator --no-run 2>&1 |
    sed -n 's/.*(\(.*generator-[0-9a-f]*\)).*/\1/p' | tail -1)
python3 tools/bench_vs_torch.py --throughput --device cuda --size 1024 --batch 8 \
    --famsim-bench "$bench"
