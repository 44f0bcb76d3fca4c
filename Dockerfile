# boxd: built with the Rust toolchain, run on a slim Debian as an unprivileged user under tini.
#   docker build -t boxd .
# The build args only substitute base images. CI reaches no container registry: it passes a
# locally made Debian and builds the `prebuilt` target, which takes a binary built on the host
# from the build context instead of compiling it again (see .ci/container-smoke).
ARG BUILD_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# The dependencies alone, against placeholder sources: this layer is rebuilt only when
# Cargo.toml or Cargo.lock change, not on every source change.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir -p src benches migrations \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/logstream.rs \
    && cargo build --release --locked \
    && rm -rf src benches target/release/.fingerprint/boxd-* \
        target/release/deps/boxd-* target/release/deps/libboxd-* target/release/boxd*
# Everything else (.dockerignore leaves out only what the build never reads), so no file the
# build needs can be forgotten here.
COPY . .
RUN cargo build --release --locked

FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="boxd" \
      org.opencontainers.image.description="A server-side implementation of the Cloudron REST API: one binary, embedded SQLite." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 boxd \
    && useradd --system --uid 10001 --gid boxd --home-dir /data --shell /usr/sbin/nologin boxd \
    && mkdir /data \
    && chown boxd:boxd /data
USER 10001:10001
ENV BOXD_LISTEN=0.0.0.0:3000 \
    BOXD_LDAP_LISTEN=0.0.0.0:3002 \
    BOXD_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 3000 3002
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["boxd", "healthcheck"]
# tini as PID 1 reaps the orphans of task commands and passes SIGTERM on to boxd.
ENTRYPOINT ["/usr/bin/tini", "--", "boxd"]
CMD ["serve"]

# CI only: the build context is a directory holding just the binary.
FROM runtime AS prebuilt
COPY boxd /usr/local/bin/boxd

FROM runtime
COPY --from=build /src/target/release/boxd /usr/local/bin/boxd
