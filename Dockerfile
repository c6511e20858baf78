# syntax=docker/dockerfile:1
# GenHook's container image: a release build (Cargo.toml's [profile.release]) copied into a slim
# Debian, running as an unprivileged user. Base images are pinned by version; pin them by digest
# (image@sha256:...) in your own registry for reproducible builds.
#
#   docker build -t genhook .
#   docker run -p 8080:8080 -v genhook-data:/var/lib/genhook \
#     -e GENHOOK_SL1_API_URL=https://sl1.example.com/api/alert -e GENHOOK_SL1_USERNAME=genhook \
#     -e GENHOOK_SL1_PASSWORD -e GENHOOK_ADMIN_TOKEN genhook
#
# Configuration: /etc/genhook/genhook.ini (deploy/genhook.container.ini; mount your own over it),
# mappings from a directory mounted at /etc/genhook/mappings (built-in ones without it), secrets
# from the environment only: nothing secret is in the image.

FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin genhook

FROM debian:12.12-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/genhook \
      --no-create-home --shell /usr/sbin/nologin genhook \
 && mkdir -p /var/lib/genhook /etc/genhook \
 && chown genhook:genhook /var/lib/genhook
COPY --from=build /src/target/release/genhook /usr/local/bin/genhook
COPY deploy/genhook.container.ini /etc/genhook/genhook.ini
USER 10001:10001
WORKDIR /var/lib/genhook
VOLUME ["/var/lib/genhook"]
EXPOSE 8080
# `genhook health` asks /healthz (the image has no curl); a server on HTTPS needs --url https://...
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/genhook", "health", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/genhook"]
CMD ["serve", "--config", "/etc/genhook/genhook.ini"]
