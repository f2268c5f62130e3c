#!/usr/bin/env bash
# Every GPU measurement as one prepared, time-boxed script for a GPU machine that may be offline (Python and torch
# present; the project's other wheels, if missing there, in a .whl folder of the checkout, e.g. from `pip download`).
# From the checkout's root:
#
#   OUT=<folder> bash scripts/gpu_check.sh      # reports under <folder>/gpu_check (default: a fresh temporary folder)
#
# Steps, most wanted first (each time-boxed and all within GPU_CHECK_SECONDS, default 560, so one failure or a slow
# step does not eat the budget; logs and JSON reports land in $OUT/gpu_check, summary.txt lists rc and seconds):
#   change-pair synthesis on 1 core vs all cores; `bench precision` of MetaUAS B4 at 256 px, batch 32 (fp32, tf32,
#   bf16, bf16+channels_last, bf16+channels_last+torch.compile) side by side; `bench train` of the same model at
#   batch 32 (default workers: fp32, bf16, bf16 compiled, fp32 compiled, tf32; 8 workers: fp32); tests/gpu.
#   Random B4 weights unless the hub cache has them: the timings do not depend on the weights.
# CPU dry run of the script itself (small sizes): GPU_CHECK_DEVICE=cpu GPU_CHECK_SMALL=1 bash scripts/gpu_check.sh
set -u
OUT=${OUT:-$(mktemp -d)}  # the device tool sets OUT; elsewhere a fresh temporary folder
REPORTS=$OUT/gpu_check
WORK=${GPU_CHECK_WORK:-$(mktemp -d)}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
mkdir -p "$REPORTS" "$WORK"
if [ -n "${GPU_CHECK_SMALL:-}" ]; then
  SIZE=64; BATCH=4; PAIRS=48; BACKBONE=tf_efficientnet_lite0; TIMED=3; VARIANTS="fp32 tf32 fp32+cl"
  TRAIN_VARIANTS="w1:1:fp32:"; SYNTH_CORES=2  # (compiling on a CPU takes minutes)
else
  SIZE=256; BATCH=32; PAIRS=1536; BACKBONE=efficientnet_b4; TIMED=20
  VARIANTS="fp32 tf32 bf16 bf16+cl bf16+cl+compile"
  TRAIN_VARIANTS="wdef::fp32: wdef::bf16: wdefc::bf16:compile wdef::tf32: w8:8:fp32: wdefc::fp32:compile"
  SYNTH_CORES=$(nproc)
fi

if [ -d .whl ]; then  # the device machine: the wheels it lacks, and this checkout, on the path (no pip install)
  python3 -m pip install -q --no-index --no-deps --target "$WORK/site" .whl/*.whl
  export PYTHONPATH=$WORK/site:$PWD
fi
export PYTHONUNBUFFERED=1
UAS=(python3 -m uasbench)

BUDGET=${GPU_CHECK_SECONDS:-560}
step() {  # step NAME SECONDS COMMAND...: run within min(SECONDS, what is left of BUDGET), log to $REPORTS/NAME.log
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS left=$((BUDGET - SECONDS))
  if [ "$left" -lt 20 ]; then echo "== $name: skipped, budget spent" | tee -a "$REPORTS/summary.txt"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  timeout "$limit" "$@" > "$REPORTS/$name.log" 2>&1
  local rc=$?
  echo "== $name: rc $rc, $((SECONDS - t0)) s" | tee -a "$REPORTS/summary.txt"
  tail -n 12 "$REPORTS/$name.log"
}

{ nvidia-smi 2>&1 || true; nproc; python3 -c "import torch; print(torch.__version__)"; } > "$REPORTS/machine.txt"
step env 60 "${UAS[@]}" env

# synthesis scaling: the same pairs on one core and on all (byte-identical shards; the rate is in the log's wall time)
# (shards of 32 pairs: a worker writes whole shards, so all cores get work)
step pairs_1core 120 "${UAS[@]}" data make-change-pairs --out "$WORK/pairs_1core" --force --n-pairs $((PAIRS / 8)) \
  --image-size $SIZE --workers 1 --shard-size 32 --quiet
step pairs_allcores 180 "${UAS[@]}" data make-change-pairs --out "$WORK/results/data/change_pairs" --force \
  --n-pairs $PAIRS --image-size $SIZE --workers "$SYNTH_CORES" --shard-size 32 --quiet

cat > "$WORK/config.yaml" <<EOF
tier: custom
results_dir: $WORK/results
device: $DEVICE
datasets:
  synthetic: {kind: synthetic-ad, seed: 0, image_size: $SIZE, n_train: 2, n_test_good: 1, n_test_defect: 1}
change_pairs: {seed: 0, n_pairs: $PAIRS, image_size: $SIZE, kinds: [object, local], val_fraction: 0.05}
training:
  metauas:
    {method: metauas, data: change_pairs, backbone: $BACKBONE, image_size: $SIZE, epochs: 1, batch_size: $BATCH,
     lr: 0.0001, weight_decay: 0.0005, seed: 0}
runs:
  metauas: {method: metauas, prompt: random, options: {backbone: $BACKBONE}}
EOF

# shellcheck disable=SC2086
step precision 240 "${UAS[@]}" bench precision metauas --config "$WORK/config.yaml" --device "$DEVICE" \
  --batch-size $BATCH --variants $VARIANTS --out "$REPORTS/precision.json"
for spec in $TRAIN_VARIANTS; do  # name:workers(empty = the default):precision:compile(empty = no)
  IFS=: read -r name workers precision compiled <<< "$spec"
  limit=90; [ -n "$compiled" ] && limit=210  # compiling forward + backward of B4 takes a minute or two
  step "train_${name}_$precision" $limit "${UAS[@]}" bench train metauas --config "$WORK/config.yaml" --device "$DEVICE" \
    ${workers:+--workers $workers} --precision "$precision" ${compiled:+--compile} --batches $TIMED \
    --out "$REPORTS/train_${name}_$precision.json"
done
if [ "$DEVICE" = cuda ]; then
  step tests_gpu 180 python3 -m pytest -q tests/gpu
fi
cat "$REPORTS/summary.txt"
echo "reports: $REPORTS"
