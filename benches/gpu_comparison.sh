#!/usr/bin/env bash
# The whole GPU comparison in one go, for a machine with a GPU (and its Vulkan
# driver), PyTorch and JAX: each part is one `benches/compare.py` invocation,
# run in order of what it tells, each under its own time limit, so that a slow
# or failing part leaves the others' tables.
#
#   benches/gpu_comparison.sh [--bin PATH] [--out DIR] [--max-size N] [--seconds S]
#                             [--agents "256 1024 4096"] [--no-compile] [--timeout S]
#                             [--part-timeout S] [--parts resnet,homogenized,euler]
#
# --timeout limits each command of a part (compare.py kills it and still writes
# the part's table); --part-timeout, if given, limits a whole part, which then
# leaves no table of its own (its JSON and logs stay). --no-compile times
# PyTorch eager alone; without it the network's PyTorch peer also times
# `torch.compile` with the layer as a nested compile region, which compiles
# once, for all agent counts (160 s on a 2-core VM; the peer's check line says
# how long).
#
#   1. resnet:      the Figure 3 network's training step against PyTorch and JAX,
#                   with the network kernel's other versions (--resnet --gpu --tune)
#   2. homogenized: MF-HOM-SGLD against NumPy, PyTorch and JAX, with the peers'
#                   checks and the step kernel's tuning variants (--gpu --check --tune)
#   3. euler:       MF-SGLD against PyTorch and JAX, with the step's mean, scheme and
#                   X-and-Y variants (--gpu --euler --tune --tune-only ...)
#
# Writes DIR/<part>/ (compare.py's JSON, logs and table) and DIR/tables.txt,
# all the tables one after the other. NumPy and the CPU engine stop at 1e6 (the
# CPU peers are not what this compares). Exit status: the number of parts that
# failed or whose checks differ.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/target/release/sgld-swarm
OUT=$ROOT/bench-out/gpu
MAX_SIZE=1e8
SECONDS_PER=1
AGENTS="256 1024 4096"
NO_COMPILE=()
TIMEOUT=600
PART_TIMEOUT=
PARTS=resnet,homogenized,euler
usage() { echo "gpu_comparison.sh: $1 (see the comment at the top of $0)" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --no-compile) ;;
        --*) [ $# -ge 2 ] || usage "$1 needs a value" ;;
    esac
    case $1 in
        --bin) BIN=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --max-size) MAX_SIZE=$2; shift 2 ;;
        --seconds) SECONDS_PER=$2; shift 2 ;;
        --agents) AGENTS=$2; shift 2 ;;
        --no-compile) NO_COMPILE=(--no-compile); shift ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --part-timeout) PART_TIMEOUT=$2; shift 2 ;;
        --parts) PARTS=$2; shift 2 ;;
        *) usage "unknown argument $1" ;;
    esac
done
for p in ${PARTS//,/ }; do
    case $p in
        resnet | homogenized | euler) ;;
        *) usage "--parts: unknown part $p (allowed: resnet, homogenized, euler)" ;;
    esac
done
PY=${PYTHON:-python3}
mkdir -p "$OUT"
: > "$OUT/tables.txt"
failed=0
part() {
    local name=$1; shift
    case ",$PARTS," in *",$name,"*) ;; *) return ;; esac
    echo "== $name: compare.py $*"
    rm -rf "${OUT:?}/$name"
    local limit=()
    [ -n "$PART_TIMEOUT" ] && limit=(timeout "$PART_TIMEOUT")
    ${limit[@]+"${limit[@]}"} "$PY" "$ROOT/benches/compare.py" --gpu --bin "$BIN" \
        --seconds "$SECONDS_PER" --out "$OUT/$name" --timeout "$TIMEOUT" \
        ${NO_COMPILE[@]+"${NO_COMPILE[@]}"} "$@"
    local rc=$?
    [ $rc -ne 0 ] && { echo "== $name: exit status $rc"; failed=$((failed + 1)); }
    for t in "$OUT/$name"/*table.txt; do
        [ -f "$t" ] && { echo "== $name"; cat "$t"; echo; } >> "$OUT/tables.txt"
    done
}
agents=()
for n in $AGENTS; do agents+=(--agents "$n"); done
part resnet --resnet --tune --peers pytorch,jax "${agents[@]}"
part homogenized --check --tune --max-size "$MAX_SIZE" --cpu-max-size 1e6
part euler --euler --tune --tune-only mean-passes,mean-fused,scalar-io,scheme-at-run-time --peers pytorch,jax \
    --max-size "$MAX_SIZE" --cpu-max-size 1e6
echo "wrote $OUT/tables.txt"
exit $failed
