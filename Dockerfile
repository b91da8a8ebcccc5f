# globaldns container image: built the way README.md builds it (scripts/install-deps.sh, CMake,
# Release), then only the binary and the few libraries it links shared on debian:12-slim, as a
# non-root user. Untested here: no Docker engine runs on the development machines (see
# deploy/README.md).
#
#   docker build -t globaldns:latest .
#
# deploy/base/deployment.yaml runs it as `globaldns serve --config /etc/globaldns/globaldns.yaml`.

FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN scripts/install-deps.sh build \
 && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DGLOBALDNS_TESTS=OFF -DGLOBALDNS_BENCH=OFF \
 && cmake --build build --target globaldns \
 && install -D -m 0755 build/app/globaldns /out/globaldns

FROM debian:12-slim
# The shared libraries `ldd globaldns` lists (tests/deploy/deploy_test.py checks this list): a
# Release build links the other libraries from their static archives (cmake/StaticDeps.cmake).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libfmt9 libspdlog1.10 libstdc++6 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/globaldns /usr/local/bin/globaldns
# The same uid/gid as runAsUser/runAsGroup in deploy/base/deployment.yaml.
USER 65532:65532
EXPOSE 5353/udp 5353/tcp 8053 8080 8181 9153
ENTRYPOINT ["/usr/local/bin/globaldns"]
CMD ["serve", "--config", "/etc/globaldns/globaldns.yaml"]
