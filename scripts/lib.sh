# lib.sh: helpers shared by scripts/*.sh and bench/compare.sh (sourced, never run).
#
# The Release build directory build/ has exactly one configuration, used by run.sh, test.sh and
# bench/compare.sh alike: switching between them never reconfigures or recompiles anything.
# run.sh and compare.sh build only the `globaldns` target in it; test.sh builds everything.
# shellcheck shell=bash

GLOBALDNS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly GLOBALDNS_ROOT

# shellcheck disable=SC2034  # used by the scripts that source this file
readonly RELEASE_DIR=build
# shellcheck disable=SC2034
readonly -a RELEASE_ARGS=(
  -DCMAKE_BUILD_TYPE=Release -DGLOBALDNS_WERROR=ON -DGLOBALDNS_TESTS=ON -DGLOBALDNS_BENCH=ON
)
# shellcheck disable=SC2034
readonly ASAN_DIR=build-asan
# shellcheck disable=SC2034
# -O1 -g1: what the ASan docs advise, with line tables for symbolized reports. Against -O2 -g it
# compiles the Beast/Asio-heavy files about a third faster, which keeps CI inside its budget;
# asserts stay on (no NDEBUG), which a sanitizer run wants anyway.
readonly -a ASAN_ARGS=(
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
  -DGLOBALDNS_SANITIZE=ON -DGLOBALDNS_WERROR=ON -DGLOBALDNS_TESTS=ON -DGLOBALDNS_BENCH=OFF
)
# shellcheck disable=SC2034
readonly TSAN_DIR=build-tsan
# shellcheck disable=SC2034
# ThreadSanitizer builds only the `threads_tests` target: the binaries whose tests run threads
# against each other (tests/CMakeLists.txt, THREADS). -O1 -g1 as for ASan.
readonly -a TSAN_ARGS=(
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
  -DGLOBALDNS_TSAN=ON -DGLOBALDNS_WERROR=ON -DGLOBALDNS_TESTS=ON -DGLOBALDNS_BENCH=OFF
)

msg() { printf '%s: %s\n' "${SCRIPT_NAME:-globaldns}" "$*" >&2; }
die() {
  msg "error: $*"
  exit 1
}

# usage: the calling script's header comment (its lines after the first, up to the first
# line that is not a comment), which documents its options.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# positive_integers FLAGS VALUE...: dies naming FLAGS (e.g. "-n and -r") unless every VALUE is
# a positive integer.
positive_integers() {
  local flags=$1 v
  shift
  for v in "$@"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || die "$flags take positive integers, got '$v'"
  done
}

# now: seconds since the epoch with a fraction, for step timings.
now() { date +%s.%N; }
# elapsed T0: seconds since T0 with one decimal.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# configure DIR CMAKE_ARGS...: (re)configure DIR with Ninja. Always runs cmake (about a second):
# tests/CMakeLists.txt adds folders only if they exist, and ninja alone would not notice a new one.
# Re-running with unchanged arguments rewrites nothing, so nothing recompiles.
configure() {
  local dir=$1
  shift
  if [[ -f $dir/CMakeCache.txt ]] && ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$dir/CMakeCache.txt"; then
    msg "$dir was configured with another generator; removing its CMake cache"
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  cmake -S "$GLOBALDNS_ROOT" -B "$dir" -G Ninja --log-level=WARNING "$@"
}

# build_server DIR: build the globaldns executable, and only what it needs, in DIR.
build_server() {
  local dir=$1
  if ! ninja -C "$dir" -t query globaldns >/dev/null 2>&1; then
    msg "$dir has no 'globaldns' target (app/CMakeLists.txt defines it)"
    return 1
  fi
  cmake --build "$dir" --target globaldns
}

# server_binary DIR: path of the built globaldns executable, or nothing (status 1).
server_binary() {
  local dir=$1 candidate
  for candidate in "$dir/globaldns" "$dir/app/globaldns"; do
    if [[ -x $candidate && -f $candidate ]]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}
