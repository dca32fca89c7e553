# ferrokv as a container, the way the official redis image runs:
#
#   docker build -t ferrokv .
#   docker run -d -p 6379:6379 -v ferrokv-data:/data ferrokv
#   docker run -d ferrokv --maxmemory 100mb --maxmemory-policy allkeys-lru
#   docker run -d -v "$PWD/redis.conf:/etc/ferrokv/redis.conf:ro" ferrokv /etc/ferrokv/redis.conf
#
# Two stages: a Rust build stage producing one statically linked binary,
# and a `FROM scratch` runtime stage holding only that binary. The runtime
# stage (from the "runtime stage" marker below to the end of this file) is
# also what scripts/docker-build-local.sh builds from a binary compiled on
# the host, without any image registry: keep it self-contained (it may only
# use the files the build stage leaves in /out).

# ---- build stage -------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# glibc with crt-static: no shared libraries at all, so `FROM scratch`
# works (the same command scripts/docker-build-local.sh runs on the host).
# Debug info is stripped; the symbol table stays for crash reports.
RUN triple="$(uname -m)-unknown-linux-gnu" \
 && RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --release --locked --target "$triple" --bin ferrokv-server \
 && mkdir -p /out/data \
 && objcopy --strip-debug "target/$triple/release/ferrokv-server" /out/ferrokv-server

# ---- runtime stage (shared with scripts/docker-build-local.sh) ---------
FROM scratch AS runtime
COPY --from=build /out/ferrokv-server /usr/local/bin/ferrokv-server
# /data belongs to the server's user (999:999, the official image's redis
# uid/gid), so a new named volume mounted there is writable by it.
COPY --from=build --chown=999:999 /out/data /data
# The official image's defaults (see src/main.rs container_defaults):
# protected mode off (a config file or --protected-mode yes turns it on),
# `redis-server` accepted as the command name, umask 0077.
ENV FERROKV_CONTAINER=1
USER 999:999
WORKDIR /data
VOLUME /data
EXPOSE 6379
# `--check-ping` sends PING to the port(s) the server (process 1) listens
# on, found through /proc (over TLS for a tls-port); healthy on +PONG (or
# -NOAUTH).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/ferrokv-server", "--check-ping"]
# SIGTERM (docker stop) shuts down cleanly: the final RDB save when save
# points are set, the AOF flushed and fsynced (shutdown-on-sigterm).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ferrokv-server"]
CMD []
