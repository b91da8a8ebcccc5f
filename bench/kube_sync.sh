#!/usr/bin/env bash
# kube_sync.sh: benchmark of globaldns's Kubernetes sync, against the fake API server on loopback.
#
#   bench/kube_sync.sh [-n "1000 100000"] [-r ROUNDS] [-d SECONDS] [-s SAMPLES] [-b BINARY]
#                      [-o OUTDIR] [--quick] [--no-dnsperf]
#
#   -n LIST      entry counts, space- or comma-separated (default "1000 100000")
#   -r ROUNDS    throughput rounds (default 3); each has an idle and an updating dnsperf run, the
#                order alternating, so drift on this shared machine hits both alike
#   -d SECONDS   length of one dnsperf run (default 10)
#   -s SAMPLES   propagation samples per N (default 300; at most 120 s per N)
#   -b BINARY    globaldns to run (default build/app/globaldns, built with the project's Release
#                configuration, only the server target, if missing)
#   -o OUTDIR    where kube.md, logs and raw results go (default /tmp/globaldns-bench)
#   --quick      a sanity run of about a minute: N=1000, 30 samples, 1 round of 3 s
#   --no-dnsperf skip the throughput part
#
# For each N: start tests/fake_kube/fake_apiserver.py (HTTPS, own CA, bearer token), load N
# ServiceEntries with its /bulk, time a bare paginated list of them (and one unpaginated curl),
# start `globaldns serve --kubeconfig` on 127.0.0.1 and measure
#   1. initial sync: spawn -> first correct answer for the last object of the last list page,
#      and globaldns's peak RSS (VmHWM); targets at 100,000: < 3 s, < 500 MB;
#   2. propagation: SAMPLES address changes through the control port; the time from the fake
#      writing the watch event (its /emitted, CLOCK_MONOTONIC) to a separate poller process's
#      first UDP answer with the new address: p50/p90/p99/max; target p99 < 50 ms at 100,000;
#   3. at the largest N only: dnsperf QPS idle vs while 100 updates/s are applied (a paced updater),
#      ROUNDS rounds, each and the median; target: no drop over 10 %. After each updating run the
#      last change must be answered within 60 s, else the remaining rounds are skipped.
# The work is done by bench/kube_sync.py (Debian's /usr/bin/python3, standard library only; its
# `self-test` is the ctest bench_kube_sync_selftest). The Markdown report goes to stdout and to
# OUTDIR/kube.md. Every process started is stopped by PID on exit, also on Ctrl-C; every loop is
# bounded in count and time. A full run at "1000 100000" takes about 5-8 minutes.
set -euo pipefail

readonly SCRIPT_NAME=kube_sync.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source=scripts/lib.sh
source "$HERE/../scripts/lib.sh"
readonly PY=/usr/bin/python3  # Debian's, not a pyenv one first in PATH

NS="1000 100000"
ROUNDS=3
DURATION=10
SAMPLES=300
GDNS_BIN=""
OUT=/tmp/globaldns-bench
QUICK=0
NO_DNSPERF=0
CHILD=""


parse_args() {
  while (($# > 0)); do
    case $1 in
      -n) NS=${2:?-n needs a value}; shift ;;
      -r) ROUNDS=${2:?-r needs a value}; shift ;;
      -d) DURATION=${2:?-d needs a value}; shift ;;
      -s) SAMPLES=${2:?-s needs a value}; shift ;;
      -b) GDNS_BIN=${2:?-b needs a value}; shift ;;
      -o) OUT=${2:?-o needs a value}; shift ;;
      --quick) QUICK=1 ;;
      --no-dnsperf) NO_DNSPERF=1 ;;
      -h | --help)
        usage
        exit 0
        ;;
      *)
        usage >&2
        die "unknown argument '$1'"
        ;;
    esac
    shift
  done
  positive_integers "-r, -d and -s" "$ROUNDS" "$DURATION" "$SAMPLES"
  [[ $NS =~ ^[0-9,\ ]+$ ]] || die "-n takes entry counts, got '$NS'"
  OUT=$(realpath -m "$OUT")
}

prepare_globaldns() {
  if [[ -n $GDNS_BIN ]]; then
    GDNS_BIN=$(realpath -m "$GDNS_BIN")
    [[ -x $GDNS_BIN ]] || die "-b $GDNS_BIN is not an executable"
    return 0
  fi
  GDNS_BIN=$GLOBALDNS_ROOT/$RELEASE_DIR/app/globaldns
  [[ -x $GDNS_BIN ]] && return 0
  msg "building globaldns in $GLOBALDNS_ROOT/$RELEASE_DIR/"
  (cd "$GLOBALDNS_ROOT" && configure "$RELEASE_DIR" "${RELEASE_ARGS[@]}" && build_server "$RELEASE_DIR") ||
    die "the globaldns build failed (see above)"
  local bin
  bin=$(cd "$GLOBALDNS_ROOT" && server_binary "$RELEASE_DIR") || die "no globaldns binary after the build"
  GDNS_BIN=$GLOBALDNS_ROOT/$bin
}

cleanup() {
  # kube_sync.py stops its own children (fake, globaldns, poller, dnsperf) on SIGTERM
  if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true
    local i
    for ((i = 0; i < 150; i++)); do
      kill -0 "$CHILD" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$CHILD" 2>/dev/null && kill -KILL "$CHILD" 2>/dev/null
  fi
  CHILD=""
}

main() {
  parse_args "$@"
  if ((NO_DNSPERF)); then
    "$GLOBALDNS_ROOT/scripts/install-deps.sh" test || die "packages missing (see above)"
  else
    "$GLOBALDNS_ROOT/scripts/install-deps.sh" bench || die "packages missing (see above)"
  fi
  [[ -x $PY ]] || die "$PY not found"
  prepare_globaldns
  local -a args=(run --binary "$GDNS_BIN" -n "$NS" -r "$ROUNDS" -d "$DURATION" --samples "$SAMPLES"
    --out "$OUT")
  ((QUICK)) && args+=(--quick)
  ((NO_DNSPERF)) && args+=(--no-dnsperf)
  trap cleanup EXIT
  trap 'cleanup; exit 130' INT TERM
  mkdir -p "$OUT"
  msg "globaldns: $GDNS_BIN; report: $OUT/kube.md"
  "$PY" "$HERE/kube_sync.py" "${args[@]}" &
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

main "$@"
