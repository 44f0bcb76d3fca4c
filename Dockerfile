# boxd: build with the Rust toolchain, run on a slim Debian as an unprivileged user.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY migrations migrations
COPY src src
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 boxd \
    && useradd --system --uid 10001 --gid boxd --home-dir /data --shell /usr/sbin/nologin boxd \
    && mkdir /data \
    && chown boxd:boxd /data
COPY --from=build /src/target/release/boxd /usr/local/bin/boxd
USER 10001:10001
ENV BOXD_LISTEN=0.0.0.0:3000 \
    BOXD_LDAP_LISTEN=0.0.0.0:3002 \
    BOXD_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 3000 3002
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["boxd", "healthcheck"]
ENTRYPOINT ["boxd"]
CMD ["serve"]
