#!/usr/bin/env bash
# install-deps.sh: install the Debian 12 packages globaldns needs; a quick no-op when all are there.
#
#   scripts/install-deps.sh [build|test|bench|fuzz]...      (default: build)
#
# Levels are cumulative: `test` installs the build packages too, `bench` the build and test ones.
# `fuzz` adds clang and libFuzzer (tests/fuzz/run.sh) to the build packages; the corpus replay
# tests need neither, so `test` does not include it.
# Only missing packages are installed, and `apt-get update` runs only when something is missing,
# so a machine that has everything pays one dpkg-query (~50 ms). Installing needs root; a
# non-root user with everything installed is fine.
#
# To add packages, append them to the matching list below; nothing else changes.
# GLOBALDNS_SKIP_DEPS=1 skips the whole thing (a non-Debian machine with its own packages).
set -euo pipefail

# Compiler, build system and the libraries CMakeLists.txt finds.
PKGS_BUILD=(
  g++ cmake ninja-build pkg-config
  libldns-dev libboost1.81-dev libyaml-cpp-dev libyaml-dev libspdlog-dev
  libboost-json1.81-dev libboost-url1.81-dev libssl-dev  # the Kubernetes API client
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc  # dns/grpc DnsService
  libgtest-dev libgmock-dev libbenchmark-dev
)
# Clients the integration tests drive the real binary with, and the format and lint checks.
PKGS_TEST=(
  clang-format clang-tidy
  bind9-dnsutils  # dig, nslookup
  knot-dnsutils   # kdig
  ldnsutils       # drill
  busybox         # busybox nslookup (a musl-style resolver client)
  python3 python3-dnspython
  python3-grpcio python3-grpc-tools  # a gRPC client for the DnsService, stubs from dns.proto
  iproute2        # ss, ip
  openssl         # certificates for the fake Kubernetes API server
  # Resolvers that forward `global` to globaldns as kube-dns would (tests/integration/
  # forwarders_test.py runs each in the foreground on its own port; their services stay off).
  unbound dnsmasq-base bind9 knot-resolver
  prometheus      # promtool: lints a real /metrics scrape
  python3-yaml    # the deploy/ manifests test
)
# Peers and tools for bench/compare.sh and memory checks.
PKGS_BENCH=(dnsperf nsd knot valgrind)
# clang with libFuzzer and the sanitizer runtimes, for the fuzz_<name> binaries.
PKGS_FUZZ=(clang libclang-rt-14-dev)

readonly SCRIPT_NAME=install-deps.sh

msg() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() {
  msg "error: $*"
  exit 1
}

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

# wanted_packages LEVEL...: the package list for the highest level asked for, one per line.
wanted_packages() {
  local level want=0 fuzz=0
  for level in "$@"; do
    case $level in
      fuzz) fuzz=1 ;;
      build) ((want >= 1)) || want=1 ;;
      test) ((want >= 2)) || want=2 ;;
      bench) want=3 ;;
      *) die "unknown level '$level' (expected build, test, bench or fuzz)" ;;
    esac
  done
  ((want >= 1)) || want=1
  printf '%s\n' "${PKGS_BUILD[@]}"
  ((want < 2)) || printf '%s\n' "${PKGS_TEST[@]}"
  # `kubectl kustomize` renders deploy/; any kubectl will do, and Debian's kubernetes-client
  # would clash with one installed from another repository (e.g. Google Cloud's `kubectl`).
  ((want < 2)) || command -v kubectl >/dev/null || printf '%s\n' kubernetes-client
  ((want < 3)) || printf '%s\n' "${PKGS_BENCH[@]}"
  ((fuzz == 0)) || printf '%s\n' "${PKGS_FUZZ[@]}"
}

# missing_packages PKG...: those of PKG that dpkg does not report as "install ok installed".
missing_packages() {
  local -A installed=()
  local name status pkg
  if command -v dpkg-query >/dev/null; then
    while IFS=$'\t' read -r name status; do
      [[ $status == "install ok installed" ]] && installed[$name]=1
    done < <(dpkg-query -W -f='${Package}\t${Status}\n' "$@" 2>/dev/null || true)
  fi
  for pkg in "$@"; do
    [[ -n ${installed[$pkg]:-} ]] || printf '%s\n' "$pkg"
  done
}

main() {
  if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    usage
    return 0
  fi
  wanted_packages "$@" >/dev/null  # validate the levels here: a failure in <(...) would be lost
  if [[ ${GLOBALDNS_SKIP_DEPS:-0} == 1 ]]; then
    msg "GLOBALDNS_SKIP_DEPS=1: not checking packages"
    return 0
  fi
  local -a wanted missing
  mapfile -t wanted < <(wanted_packages "$@")
  mapfile -t missing < <(missing_packages "${wanted[@]}")
  ((${#missing[@]} > 0)) || return 0

  command -v apt-get >/dev/null ||
    die "not a Debian-like system (no apt-get); install these yourself: ${missing[*]}"
  if ((EUID != 0)); then
    die "missing packages: ${missing[*]}; run as root: sudo $0 ${*:-build}"
  fi

  msg "installing ${#missing[@]} missing package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  local -a apt=(apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
  "${apt[@]}" update -qq || die "apt-get update failed"
  "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" ||
    die "apt-get install failed for: ${missing[*]}"

  mapfile -t missing < <(missing_packages "${wanted[@]}")
  ((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
  msg "all ${#wanted[@]} packages present"
}

main "$@"
