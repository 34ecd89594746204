# Turnout container image.
#   docker build -t turnout .
#   docker run --rm -p 8080:8080 -p 8081:8081 -v "$PWD/my-turnout.yaml:/etc/turnout/turnout.yaml:ro" turnout
# scripts/dockerfile-check.sh runs the builder stage's steps on a host without Docker, so keep its RUN steps
# plain shell (no heredocs); it substitutes a scratch path for .build and a local directory for /out.

# The toolchain the project is built and tested with (Swift 6.3 on Debian 12).
ARG SWIFT_IMAGE=swift:6.3-bookworm

# ---- builder: static Swift runtime, so the runtime image needs no Swift toolchain -----------------------------
FROM ${SWIFT_IMAGE} AS builder
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Package.* also takes Package.resolved when the build context has one (pinned dependency versions).
COPY Package.* ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product turnout \
    && swift build -c release --static-swift-stdlib --product turnout-demo-backend \
    && mkdir -p /out \
    && cp "$(swift build -c release --static-swift-stdlib --show-bin-path)/turnout" \
          "$(swift build -c release --static-swift-stdlib --show-bin-path)/turnout-demo-backend" /out/ \
    && strip /out/turnout /out/turnout-demo-backend

# ---- runtime ---------------------------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl3 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/turnout --create-home --shell /usr/sbin/nologin turnout
COPY --from=builder /out/turnout /out/turnout-demo-backend /usr/local/bin/
COPY config/turnout.yaml /etc/turnout/turnout.yaml
# Relative paths in the configuration (state_dir: .turnout) land in the turnout user's home.
WORKDIR /var/lib/turnout
USER turnout
EXPOSE 8080 8081 9901
# The admin API answers /healthz (it binds 127.0.0.1 by default; publishing 9901 needs
# admin.bind on 0.0.0.0 and admin.token_file, which the configuration check enforces).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9901/healthz"]
ENTRYPOINT ["turnout"]
CMD ["serve", "--config", "/etc/turnout/turnout.yaml"]
