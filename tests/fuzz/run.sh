#!/usr/bin/env bash
# run.sh: run one libFuzzer target for a while, from its seed corpus, and print the figures.
#
#   tests/fuzz/run.sh TARGET SECONDS [BUILD_DIR]     e.g. tests/fuzz/run.sh query_parser 600
#
# BUILD_DIR (default build-fuzz in the repository) is configured with clang++ and
# GLOBALDNS_FUZZ=ON when it has no build.ninja yet, and fuzz_TARGET is (re)built. New inputs go
# to a scratch corpus under /tmp, never into tests/fuzz/corpus: copy a finding there yourself
# under a descriptive name once it is fixed. Crash files land in the scratch directory too.
set -euo pipefail

readonly SCRIPT_NAME=run.sh
die() {
  printf '%s: error: %s\n' "$SCRIPT_NAME" "$*" >&2
  exit 1
}

(($# >= 2)) || die "usage: $0 TARGET SECONDS [BUILD_DIR]"
target=$1
seconds=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${3:-$repo/build-fuzz}
seeds=$repo/tests/fuzz/corpus/$target
[[ -d $seeds ]] || die "no seed corpus $seeds"
[[ $seconds =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number"
command -v clang++ >/dev/null || die "clang++ not found (scripts/install-deps.sh fuzz)"

if [[ ! -f $build/build.ninja ]]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DGLOBALDNS_FUZZ=ON -DGLOBALDNS_TESTS=OFF \
    -DGLOBALDNS_BENCH=OFF "${launcher[@]}"
fi
nice ninja -C "$build" "fuzz_$target"

scratch=$(mktemp -d "/tmp/globaldns-fuzz-$target.XXXXXX")
mkdir "$scratch/corpus"
printf '%s: fuzzing %s for %ss; new inputs and crashes in %s\n' "$SCRIPT_NAME" "$target" \
  "$seconds" "$scratch" >&2
# The scratch corpus comes first: libFuzzer writes new inputs to the first directory only.
status=0
export LSAN_OPTIONS=suppressions=$repo/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
(cd "$scratch" && nice "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" \
  -print_final_stats=1 -artifact_prefix="$scratch/" "$scratch/corpus" "$seeds" \
  >"$scratch/log" 2>&1) || status=$?
grep -E '^#[0-9]+.*(INITED|DONE)|^stat::|ERROR|SUMMARY|disagree' "$scratch/log" || true
printf 'corpus: %s files, %s\n' "$(find "$scratch/corpus" -type f | wc -l)" \
  "$(du -sh "$scratch/corpus" | cut -f1)"
printf 'log: %s\n' "$scratch/log"
exit "$status"
