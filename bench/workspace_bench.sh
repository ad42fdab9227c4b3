#!/usr/bin/env bash
# Workspace copy benchmark: `cp -a` against kiln's copy_tree on a generated source tree.
#
#   bench/workspace_bench.sh            # 50,000 files, 1 GiB, 1,000 folders, 3 runs each
#   FILES=5000 TOTAL_MB=100 bench/workspace_bench.sh     # a quick run
#
# Settings (environment): FILES, DIRS, TOTAL_MB, RUNS, THREADS (0 = kiln's default),
# BENCH_DIR (parent of the temporary folder), FRESH_FS (auto|0, see below).
#
# Fair timing on ext4 needs care:
# - ext4 will not reuse an inode freed in the last minutes; after an `rm -rf` of a big tree
#   every create scans past the freed inodes (recently_deleted() in perf), which slows whichever
#   tool runs next by 2-5x. So copies are never deleted during the run, and with FRESH_FS=auto
#   (default, needs root and mkfs.ext4) everything happens on a new loop-mounted ext4, where
#   nothing was ever deleted and no other job competes for the same inode tables.
# - The page cache cannot be dropped reliably here, so every copy reads a cached source; `sync`
#   runs (untimed) before each copy, the order of the tools alternates, the median is reported.
set -euo pipefail

FILES=${FILES:-50000}
DIRS=${DIRS:-1000}
TOTAL_MB=${TOTAL_MB:-1024}
RUNS=${RUNS:-3}
THREADS=${THREADS:-0}
FRESH_FS=${FRESH_FS:-auto}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

WORK=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/kiln-workspace-bench-XXXXXX")
MNT=""
cleanup() {
  if [[ -n $MNT ]]; then umount "$MNT" || umount -l "$MNT"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

copies=$((2 * RUNS + 2))  # cp and kiln per run, the source and the warm-up copy
if [[ $FRESH_FS != 0 ]] && ((EUID == 0)) && command -v mkfs.ext4 >/dev/null; then
  size_mb=$((TOTAL_MB * copies * 13 / 10 + 1024))
  echo "== making a fresh ${size_mb} MiB ext4 for the run"
  truncate -s "${size_mb}M" "$WORK/fs.img"
  # Inode tables written now, not by ext4lazyinit in the background while we measure.
  mkfs.ext4 -q -N $((FILES * (copies + RUNS) + 10000)) -E lazy_itable_init=0,lazy_journal_init=0 \
    "$WORK/fs.img"
  mkdir "$WORK/mnt"
  mount -o loop "$WORK/fs.img" "$WORK/mnt"
  MNT="$WORK/mnt"
  DATA="$MNT"
else
  DATA="$WORK"
  need_kb=$((TOTAL_MB * 1024 * copies * 13 / 10))
  free_kb=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
  if ((free_kb < need_kb)); then
    echo "need $((need_kb / 1024)) MiB free in $WORK, have $((free_kb / 1024)) MiB" >&2
    exit 1
  fi
fi

echo "== building the copy driver"
# Compiled here from the two modules it needs, so the benchmark does not depend on the state of
# the rest of the tree.
g++ -std=c++20 -O2 -pthread -I "$REPO/src" -o "$WORK/copy_bench" \
  "$REPO/bench/workspace_copy_bench.cpp" "$REPO"/src/workspace/*.cpp "$REPO/src/util/error.cpp"

echo "== generating $FILES files, $TOTAL_MB MiB, in $DIRS folders"
t0=$(date +%s.%N)
python3 - "$DATA/src" "$FILES" "$DIRS" "$TOTAL_MB" <<'EOF'
import os, random, sys
root, files, dirs, total_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(1234)
# Source-tree-like sizes: mostly small files, a long tail of large ones (log-normal), scaled to
# the requested total.
raw = [rng.lognormvariate(8.5, 1.6) for _ in range(files)]
scale = total_mb * 1024 * 1024 / sum(raw)
sizes = [max(0, int(s * scale)) for s in raw]
block = os.urandom(8 << 20)
folders = []
for d in range(dirs):
    # Two levels, like src/<module>/<sub>.
    folders.append(os.path.join(root, "m%03d" % (d % 40), "d%04d" % d))
    os.makedirs(folders[-1], exist_ok=True)
for i, size in enumerate(sizes):
    path = os.path.join(folders[i % dirs], "f%05d.dat" % i)
    off = rng.randrange(0, len(block) - min(size, len(block)) + 1)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, len(block) - off)
            f.write(block[off:off + n])
            left -= n
            off = 0
    if i % 7 == 0:
        os.chmod(path, 0o755)
    if i % 500 == 0:
        os.symlink("f%05d.dat" % i, path + ".link")
EOF
sync
t1=$(date +%s.%N)
echo "   $(du -sh "$DATA/src" | cut -f1) on disk, generated in $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

time_cp() { # $1 = destination
  local t0 t1
  sync
  t0=$(now)
  cp -a "$DATA/src" "$1"
  t1=$(now)
  echo "$t1 - $t0" | bc
}

time_kiln() { # $1 = mode, $2 = destination; timed from outside, like cp
  local t0 t1 out
  sync
  t0=$(now)
  out=$("$WORK/copy_bench" "$DATA/src" "$2" "$1" "$THREADS")
  t1=$(now)
  echo "$t1 - $t0" | bc
  echo "   kiln $1: ${out#* }" >&2
}

# Untimed warm-up: page in the source's metadata, start the journal going.
"$WORK/copy_bench" "$DATA/src" "$DATA/warm-up" auto "$THREADS" >/dev/null

echo "== timing (load average $(cut -d' ' -f1-3 /proc/loadavg))"
cp_times=() kiln_times=() link_times=()
for run in $(seq "$RUNS"); do
  # Alternate which tool goes first, so neither always meets the other's dirty pages.
  if ((run % 2)); then
    cp_times+=("$(time_cp "$DATA/cp-$run")")
    kiln_times+=("$(time_kiln auto "$DATA/kiln-$run")")
  else
    kiln_times+=("$(time_kiln auto "$DATA/kiln-$run")")
    cp_times+=("$(time_cp "$DATA/cp-$run")")
  fi
  link_times+=("$(time_kiln hardlink "$DATA/link-$run")")
  echo "   run $run: cp -a ${cp_times[-1]} s, kiln auto ${kiln_times[-1]} s, kiln hardlink ${link_times[-1]} s"
done

cp_med=$(printf '%s\n' "${cp_times[@]}" | median)
kiln_med=$(printf '%s\n' "${kiln_times[@]}" | median)
link_med=$(printf '%s\n' "${link_times[@]}" | median)
echo "== median of $RUNS runs ($(nproc) cores, $(df -T "$DATA" | awk 'NR==2 {print $2}')${MNT:+ on a fresh loop device}, load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '   cp -a          %7.3f s\n' "$cp_med"
printf '   kiln auto      %7.3f s   (%.2fx faster than cp -a)\n' "$kiln_med" "$(echo "$cp_med / $kiln_med" | bc -l)"
printf '   kiln hardlink  %7.3f s   (%.2fx faster than cp -a)\n' "$link_med" "$(echo "$cp_med / $link_med" | bc -l)"
