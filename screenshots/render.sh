#!/usr/bin/env bash
# Re-renders the screenshots of the README with the app's own screenshot mode in a virtual
# X display (xvfb-run, see README.md's set-up). Run from anywhere; takes about 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
shot() {
    xvfb-run -a -s "-screen 0 1280x800x24" ./target/release/nnlab \
        --screenshot "screenshots/$1.png" "${@:2}"
}
shot curves --tab curves --train-epochs 20
shot weights --tab weights --train-epochs 20
shot confusion --tab confusion --train-epochs 20
shot weight-history --tab weights --train-epochs 20 --replay-epoch 2
shot sweep --tab sweep --train-epochs 20
shot autoencoder --tab autoencoder --train-epochs 100
shot toy --tab toy --train-epochs 300
shot ocr --tab ocr --open ../shared/data/04_deep.jpg
shot draw --tab draw
shot gradient-check --tab gradient-check
