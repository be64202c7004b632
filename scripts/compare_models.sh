#!/usr/bin/env bash
# Issue 14's comparison: the packaged base, a CPU build and a GPU build on all four targets,
# each measure with base and builds in the same run, then one `takeaways eval compare` table
# and chart, written into the README's block. HumanEval runs resume, so a rerun only redoes
# what is missing. The committed runs in reports/eval/builds name the files they measured: to
# rerun with other files, give a fresh OUT (an eval run refuses a folder made with other settings).
#
#   scripts/compare_models.sh CPU_BUILD.gguf GPU_BUILD.gguf [OUT]   (about 90 min on 2 cores)
set -euo pipefail
cpu_gguf=${1:?usage: compare_models.sh CPU_BUILD.gguf GPU_BUILD.gguf [OUT]}
gpu_gguf=${2:?usage: compare_models.sh CPU_BUILD.gguf GPU_BUILD.gguf [OUT]}
out=${3:-reports/eval/builds}
root=$(cd "$(dirname "$0")/.." && pwd)
py="$root/.venv/bin/python"
takeaways="$root/.venv/bin/takeaways"
cpu_label="takeaways-270m CPU build"
gpu_label="takeaways-270m GPU build"
mkdir -p "$out"
cd "$root"

humaneval() { # model label folder
  "$takeaways" eval humaneval --model "$1" --label "$2" --greedy --max-tokens 512 --out "$out/$3"
}
humaneval base "gemma-3-270m (packaged base)" humaneval-base
humaneval "$cpu_gguf" "$cpu_label" humaneval-cpu-build
humaneval "$gpu_gguf" "$gpu_label" humaneval-gpu-build

# Fix success, verification off, top suggestion: the base and both builds on the same bugs,
# as the injector draws them (mostly syntax errors) and on bugs that parse.
for kinds in any semantic; do
  "$py" bench/fix.py --modes evidence --lookup 0 --sandbox-rounds 0 --kinds "$kinds" \
    --model "$cpu_gguf" --label "$cpu_label" --model "$gpu_gguf" --label "$gpu_label" \
    --report-dir "$out" | tee "$out/fix-$kinds.txt"
done

# Format validity per kind: the same planned tasks for every model.
"$py" bench/format_validity.py --per-kind 4 --seed 0 --model base \
  --model "$cpu_gguf" --label "$cpu_label" --model "$gpu_gguf" --label "$gpu_label" \
  --out "$out/format_validity.json" --report-dir "$out" \
  | tee "$out/format_validity.txt" || true # exits 1 when a kind misses 95%: still a result

# Served decode speed of each build against the base, in alternating pairs.
for pair in "$cpu_gguf|$cpu_label|cpu" "$gpu_gguf|$gpu_label|gpu"; do
  IFS='|' read -r gguf label name <<<"$pair"
  "$py" bench/served_speed.py --candidate "$gguf" --label "$label" --rounds 3 \
    --out "$out/served_speed-$name.json" --report-dir "$out" | tee "$out/served_speed-$name.txt" \
    || true # exits 1 when the ratio misses 0.95: still a result
done

"$takeaways" eval compare "$out" --out "$out" --readme README.md
