#!/usr/bin/env bash
# test.sh: the full check that CI runs (.ci/run): format, Release tests, ASan+UBSan tests.
#
#   scripts/test.sh [--fast]
#
# Steps, each timed:
#   deps         install the build and test packages that are missing (scripts/install-deps.sh test)
#   format       clang-format --dry-run -Werror over the tracked *.cpp/*.hpp
#   release      configure + build build/ (Release, -Werror, tests and micro-benchmarks on)
#   tidy         clang-tidy (profile: .clang-tidy) over the server's sources (not tests/ or
#                bench/), with build/'s compile commands; any warning fails the step
#   ctest        ctest in build/
#   tsan         configure build-tsan/ (-O1 -g1, ThreadSanitizer) and build its threads_tests
#   ctest-tsan   ctest -L threads in build-tsan/: workers, snapshot publication, counters, logs
#   asan         configure + build build-asan/ (-O1 -g1, ASan+UBSan, -Werror, no benchmarks)
#   ctest-asan   ctest in build-asan/ with leak detection, every test; any sanitizer report
#                fails the test
# --fast skips the sanitizer steps.
#
# A format failure is reported but the builds and tests still run; a failed build or test stops
# the run. The exit status is non-zero if any step failed.
# Environment: GLOBALDNS_CTEST_TIMEOUT (whole ctest run, seconds; default 1800),
# GLOBALDNS_TEST_TIMEOUT (one test without its own TIMEOUT property; default 300).
set -euo pipefail

readonly SCRIPT_NAME=test.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly CTEST_TIMEOUT=${GLOBALDNS_CTEST_TIMEOUT:-1800}
readonly TEST_TIMEOUT=${GLOBALDNS_TEST_TIMEOUT:-300}

STEP_LINES=()  # "name status seconds", for the summary
FAILED=0

# step NAME COMMAND...: run COMMAND, time it, record the outcome; returns its status.
step() {
  local name=$1 t0 rc=0
  shift
  printf '\n==> %s\n' "$name" >&2
  t0=$(now)
  "$@" || rc=$?
  local secs
  secs=$(elapsed "$t0")
  if ((rc == 0)); then
    printf '<== %s: ok in %s s\n' "$name" "$secs" >&2
    STEP_LINES+=("$name ok $secs")
  else
    printf '<== %s: FAILED (status %d) after %s s\n' "$name" "$rc" "$secs" >&2
    STEP_LINES+=("$name FAILED $secs")
    FAILED=1
  fi
  return "$rc"
}

summary() {
  local line name status secs
  printf '\n%-12s %-8s %9s\n' step result seconds >&2
  for line in "${STEP_LINES[@]}"; do
    read -r name status secs <<<"$line"
    printf '%-12s %-8s %9s\n' "$name" "$status" "$secs" >&2
  done
}

# Tracked C++ sources, NUL-separated. Falls back to a find over the tree (skipping build*/) when
# this is not a git checkout or GLOBALDNS_NO_GIT=1.
cxx_sources() {
  if [[ ${GLOBALDNS_NO_GIT:-0} != 1 && -e .git ]] && command -v git >/dev/null; then
    git ls-files -z -- '*.cpp' '*.hpp'
  else
    find . \( -path ./.git -o -path './build*' \) -prune -o \
      -type f \( -name '*.cpp' -o -name '*.hpp' \) -print0
  fi
}

check_format() {
  command -v clang-format >/dev/null || die "clang-format not found"
  local -a files bad
  mapfile -d '' -t files < <(cxx_sources)
  if ((${#files[@]} == 0)); then
    msg "no C++ sources to check"
    return 0
  fi
  msg "$(clang-format --version | head -1): checking ${#files[@]} files"
  local report
  report=$(mktemp)
  if clang-format --dry-run -Werror "${files[@]}" >"$report" 2>&1; then
    rm -f "$report"
    return 0
  fi
  # Every violation comes with two lines of context: show the start, then the list of files.
  head -n 60 "$report" >&2
  mapfile -t bad < <(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: .*/\1/p' "$report" | sort -u)
  rm -f "$report"
  msg "${#bad[@]} file(s) not clang-formatted: ${bad[*]}"
  msg "fix with: clang-format -i ${bad[*]}"
  return 1
}

# clang-tidy over the tracked .cpp files outside tests/ and bench/, two at a time. Headers are
# checked through the files that include them (HeaderFilterRegex in .clang-tidy).
check_tidy() {
  command -v clang-tidy >/dev/null || die "clang-tidy not found"
  local -a files
  mapfile -d '' -t files < <(cxx_sources | grep -z '\.cpp$' | grep -zv '^\(\./\)\?\(tests\|bench\)/')
  msg "$(clang-tidy --version | grep -m1 version): checking ${#files[@]} files"
  local report rc=0
  report=$(mktemp)
  printf '%s\0' "${files[@]}" |
    xargs -0 -n1 -P2 clang-tidy -p "$RELEASE_DIR" --quiet \
      --header-filter="^$GLOBALDNS_ROOT/(app|config|dns|http|metrics|resolver|sync)/" \
      >"$report" 2>&1 || rc=$?
  if ((rc != 0)) || grep -q ': \(warning\|error\):' "$report"; then
    grep -A3 ': \(warning\|error\):' "$report" | head -n 80 >&2
    msg "clang-tidy: $(grep -c ': \(warning\|error\):' "$report") finding(s)"
    rm -f "$report"
    return 1
  fi
  rm -f "$report"
}

build_tsan() {
  configure "$TSAN_DIR" "${TSAN_ARGS[@]}" && cmake --build "$TSAN_DIR" --target threads_tests
}

build_all() {
  local dir=$1
  shift
  configure "$dir" "$@" && cmake --build "$dir"
}

run_ctest() {
  local dir=$1
  shift
  timeout --kill-after=30 "$CTEST_TIMEOUT" \
    ctest --test-dir "$dir" --output-on-failure -j2 --timeout "$TEST_TIMEOUT" --no-tests=error "$@"
}

main() {
  local fast=0 arg
  for arg in "$@"; do
    case $arg in
      --fast) fast=1 ;;
      -h | --help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
        return 0
        ;;
      *) die "unknown argument '$arg' (try --help)" ;;
    esac
  done
  cd "$GLOBALDNS_ROOT"
  local t0
  t0=$(now)

  # Nothing can run without the packages; a format failure alone does not stop the run.
  if step deps "$GLOBALDNS_ROOT/scripts/install-deps.sh" test; then
    step format check_format || true
    if step release build_all "$RELEASE_DIR" "${RELEASE_ARGS[@]}"; then
      step tidy check_tidy || true
      if step ctest run_ctest "$RELEASE_DIR" && ((fast == 0)); then
        if step tsan build_tsan; then
          # halt_on_error: the first report fails the test that made it, with its stack.
          TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
            step ctest-tsan run_ctest "$TSAN_DIR" -L threads || true
        fi
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        if step asan build_all "$ASAN_DIR" "${ASAN_ARGS[@]}"; then
          step ctest-asan run_ctest "$ASAN_DIR" || true
        fi
      fi
    fi
  fi
  ((fast == 0)) || msg "--fast: sanitizer build skipped"

  summary
  if ((FAILED)); then
    msg "FAILED after $(elapsed "$t0") s"
    return 1
  fi
  msg "all steps passed in $(elapsed "$t0") s"
}

main "$@"
