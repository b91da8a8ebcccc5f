#!/usr/bin/env bash
# run.sh: build globaldns and serve the example ServiceEntries on 127.0.0.1:5353.
#
#   scripts/run.sh [extra `globaldns serve` flags...]
#
# Installs the build packages if any is missing (needs root then), builds the Release binary in
# build/ (the same configuration scripts/test.sh uses, but only the server target, so it is
# quick), then replaces itself with
#   build/globaldns serve --listen 127.0.0.1:5353 --grpc 127.0.0.1:8053 --files ... "$@"
# run from the repository root, with CoreDNS's gRPC DnsService on 127.0.0.1:8053 (loopback, as
# DNS is). Extra arguments are passed through, e.g. `--ttl 5 --threads 1` or `--grpc off`.
# Try it from another terminal:
#   dig @127.0.0.1 -p 5353 httpbin.istio-testing.global
set -euo pipefail

readonly SCRIPT_NAME=run.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  cd "$GLOBALDNS_ROOT"
  "$GLOBALDNS_ROOT/scripts/install-deps.sh" build
  configure "$RELEASE_DIR" "${RELEASE_ARGS[@]}" || die "cmake configure failed"
  build_server "$RELEASE_DIR" || die "build failed"
  local bin
  bin=$(server_binary "$RELEASE_DIR") || die "the build produced no globaldns executable in $RELEASE_DIR/"
  msg "serving deploy/examples/serviceentries.yaml on 127.0.0.1:5353 (Ctrl-C stops)"
  msg "try: dig @127.0.0.1 -p 5353 httpbin.istio-testing.global"
  exec "$bin" serve --listen 127.0.0.1:5353 --grpc 127.0.0.1:8053 \
    --files deploy/examples/serviceentries.yaml "$@"
}

main "$@"
