#!/usr/bin/env bash
# Builds the ferrokv image without any image registry: compiles the
# statically linked release binary on the host (as the Dockerfile's build
# stage does), then builds the Dockerfile's runtime stage (`FROM scratch`,
# taken verbatim from the Dockerfile, so there is one definition of the
# image) around it. Prints the image name as its last line.
#
#   scripts/docker-build-local.sh            # builds ferrokv:local
#   IMAGE=myrepo/ferrokv:dev scripts/docker-build-local.sh
#
# Needs: cargo, docker (a running daemon), objcopy (binutils; optional).
set -euo pipefail
cd "$(dirname "$0")/.."

image=${IMAGE:-ferrokv:local}
triple="$(uname -m)-unknown-linux-gnu"

RUSTFLAGS='-C target-feature=+crt-static' \
  cargo build --release --locked --target "$triple" --bin ferrokv-server >&2

target_dir=$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/$triple/release/ferrokv-server"
if ! file "$bin" 2>/dev/null | grep -q 'static'; then
  if ldd "$bin" 2>&1 | grep -q '=>'; then
    echo "error: $bin is not statically linked" >&2
    exit 1
  fi
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/out/data"
if command -v objcopy >/dev/null; then
  objcopy --strip-debug "$bin" "$ctx/out/ferrokv-server"
else
  cp "$bin" "$ctx/out/ferrokv-server"
fi
# The build stage is replaced by the host-built files; the runtime stage is
# the Dockerfile's, from its marker line to the end.
{
  echo 'FROM scratch AS build'
  echo 'COPY out/ /out/'
  sed -n '/^# ---- runtime stage/,$p' Dockerfile
} >"$ctx/Dockerfile"
if ! grep -q '^FROM scratch AS runtime' "$ctx/Dockerfile"; then
  echo "error: no runtime stage marker in Dockerfile" >&2
  exit 1
fi
# The classic builder: it needs no buildx plugin and pulls nothing for a
# `FROM scratch` image.
DOCKER_BUILDKIT=0 docker build -t "$image" "$ctx" >&2
echo "$image"
