# Trust Gateway: multi-stage build, small non-root runtime.
#   docker build -t trust-gateway .
#   docker run -p 8002:8002 -v tg-data:/data trust-gateway
# See docs/DEPLOYMENT.md. (CI does not build this image: its machines reach package
# registries only, not Docker Hub.)

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# SQLite is bundled and OpenSSL vendored: no -dev packages needed.
RUN cargo build --release --locked -p trust-gateway \
 && strip target/release/trust-gateway

FROM debian:bookworm-slim
# CA roots for https webhook deliveries; nothing else.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin trust-gateway \
 && mkdir /data && chown trust-gateway /data
COPY --from=build /src/target/release/trust-gateway /usr/local/bin/trust-gateway
USER 10001
WORKDIR /data
ENV HOST=0.0.0.0 \
    PORT=8002 \
    DATABASE_URL=sqlite:///data/trust-gateway.db \
    LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8002
ENTRYPOINT ["trust-gateway"]
CMD ["serve"]
