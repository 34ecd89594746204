# Turnout container image.
#   docker build -t turnout .
#   docker run --rm -p 8080:8080 -p 8081:8081 -v "$PWD/my-turnout.yaml:/etc/turnout/turnout.yaml:ro" turnout
# The build itself is scripts/build-release.sh, which CI runs too; scripts/dockerfile-check.sh checks, without a
# Docker engine, what this image needs of it.

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
# SwiftPM loads every target of the manifest, test targets too, so their directories must exist although the
# release build compiles none of them (.dockerignore leaves out the integration tests).
COPY Tests ./Tests
COPY scripts/build-release.sh ./scripts/
RUN scripts/build-release.sh /out

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
