#!/usr/bin/env bash
# Runs every libFuzzer target in fuzz/targets.txt for FUZZ_SECONDS each (default 600: the
# ten-minute run docs/security.md asks of each target), one after the other, and prints one line per
# target: runs, executions per second, coverage, corpus size and the verdict. Exits 1 when any
# target finds a crash, a leak, a sanitizer report or a timeout; the reproducer is kept in
# FUZZ_OUT (default build/fuzz-long/<target>/). CI runs the same targets for 15 s each
# (scripts/test.sh); this is the long run, whose figures go to bench/RESULTS.md.
#
#   FUZZ_SECONDS=600 ./scripts/fuzz-long.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-600}
out=${FUZZ_OUT:-build/fuzz-long}

cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DKILN_FUZZ=ON >/dev/null

declare -A corpus_of=()
order=()
while read -r target corpus; do
  [[ -z $target || $target == \#* ]] && continue
  corpus_of[$target]=$corpus
  order+=("$target")
done <fuzz/targets.txt
[ $# -gt 0 ] && order=("$@")
ninja -C build/fuzz "${order[@]}" >/dev/null

status=0
printf '%-20s %8s %10s %8s %8s %s\n' target seconds execs exec/s cov verdict
for target in "${order[@]}"; do
  [ -n "${corpus_of[$target]:-}" ] || { echo "fuzz-long: $target is not in fuzz/targets.txt" >&2; exit 2; }
  work=$out/$target
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
  log=$work/fuzz.log
  set +e
  ./build/fuzz/"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
    "${corpus_of[$target]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  if [ "$rc" -eq 0 ] && [ -z "$(ls -A "$work/artifacts")" ]; then
    verdict="clean"
  else
    verdict="FINDING (exit $rc): see $log and $work/artifacts/"
    status=1
  fi
  printf '%-20s %8s %10s %8s %8s %s\n' "$target" "$seconds" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "$verdict"
done
exit $status
