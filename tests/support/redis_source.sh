#!/usr/bin/env bash
# Sourced by the suite runners (redis_suite.sh, redis_cluster_suite.sh):
# unpacks Redis 7.0.15's source, fetched through the package client
# (`apt-get source --download-only redis`, with deb-src added to Debian's
# sources when missing), into $WORK/redis-7.0.15 with Debian's patches
# applied in series order, as the package build does (Debian's redis-server
# carries security patches, some of which change tests). Sets PRISTINE.
# --- Redis's source, through the package client, with Debian's patches ---
PRISTINE=$WORK/redis-7.0.15
mkdir -p "$WORK"
if [ ! -d "$PRISTINE" ]; then
    if ! ls "$WORK"/redis_7.0.15.orig.tar.gz >/dev/null 2>&1; then
        f=/etc/apt/sources.list.d/debian.sources
        if [ -f "$f" ] && ! grep -q '^Types:.*deb-src' "$f"; then
            sed -i 's/^Types: deb$/Types: deb deb-src/' "$f" && apt-get update -qq
        fi
        (cd "$WORK" && apt-get source --download-only redis) || exit 1
    fi
    tar xzf "$WORK"/redis_7.0.15.orig.tar.gz -C "$WORK" || exit 1
    # Debian's redis-server carries its security patches, some of which
    # change tests: apply them all, in series order, as the package build does.
    deb=$(ls "$WORK"/redis_7.0.15-*.debian.tar.xz 2>/dev/null | head -1)
    if [ -n "$deb" ]; then
        tar xJf "$deb" -C "$WORK" || exit 1
        while read -r p; do
            [ -z "$p" ] || [ "${p#\#}" != "$p" ] && continue
            patch -d "$PRISTINE" -p1 -N -s <"$WORK/debian/patches/$p" >/dev/null ||
                echo "note: debian patch $p did not apply cleanly" >&2
        done <"$WORK/debian/patches/series"
    fi
fi
