#!/usr/bin/env bash
# Build the benchmark corpora of shared/corpus.md into bench/corpus/ (cached:
# each step is skipped when its output exists). Needs root and the Debian
# mirror: debootstrap, apt in a chroot, umoci, rsync; npm for npm-ts-10.
#   debian-4/rootfs/{bookworm,trixie,bookworm-python3,bookworm-nodejs}
#   debian-4/oci      the OCI tar.gz baseline (umoci): one tag per rootfs,
#                     python3 and nodejs layered on top of bookworm
#   debian-4/oci-flat the same rootfs as four independent one-layer images
#   npm-ts-10/typescript-<version>/   ten unpacked typescript releases
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${TESSERA_CORPUS:-$here/corpus}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$out"
log() { printf '[corpus] %s\n' "$*" >&2; }

need() { command -v "$1" >/dev/null 2>&1 || { log "installing $2"; apt-get install -y -qq "$2" >/dev/null; }; }
if ! command -v debootstrap >/dev/null || ! command -v umoci >/dev/null || ! command -v rsync >/dev/null; then apt-get update -qq; fi
need debootstrap debootstrap; need umoci umoci; need rsync rsync

d4="$out/debian-4"
mkdir -p "$d4/rootfs"
for suite in bookworm trixie; do
  if [ ! -e "$d4/.done-$suite" ]; then
    log "debootstrap $suite"
    rm -rf "$d4/rootfs/$suite"
    debootstrap --variant=minbase "$suite" "$d4/rootfs/$suite" "$mirror" >"$d4/debootstrap-$suite.log" 2>&1
    touch "$d4/.done-$suite"
  fi
done
for pkg in python3 nodejs; do
  dir="$d4/rootfs/bookworm-$pkg"
  if [ ! -e "$d4/.done-bookworm-$pkg" ]; then
    log "bookworm + $pkg"
    rm -rf "$dir"
    cp -a "$d4/rootfs/bookworm" "$dir"
    mount --bind /proc "$dir/proc" 2>/dev/null || true
    chroot "$dir" apt-get update -qq >/dev/null 2>&1 || true
    chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >"$d4/apt-$pkg.log" 2>&1
    chroot "$dir" apt-get clean   # as image builds do: no downloaded .debs in the image
    umount "$dir/proc" 2>/dev/null || true
    touch "$d4/.done-bookworm-$pkg"
  fi
done
# Markers live beside the rootfs directories, never inside them.
if [ ! -e "$d4/.done-oci" ]; then
  log "OCI baseline with umoci"
  rm -rf "$d4/oci" "$d4/bundle"
  umoci init --layout "$d4/oci"
  umoci new --image "$d4/oci:bookworm"
  layer() { # TAG ROOTFS: unpack TAG, make its rootfs equal ROOTFS, repack as a new layer
    umoci unpack --image "$d4/oci:$1" "$d4/bundle" >/dev/null
    rsync -aHAX --delete "$2/" "$d4/bundle/rootfs/"
    umoci repack --image "$d4/oci:$1" "$d4/bundle" >/dev/null
    rm -rf "$d4/bundle"
  }
  layer bookworm "$d4/rootfs/bookworm"
  umoci new --image "$d4/oci:trixie"
  layer trixie "$d4/rootfs/trixie"
  for pkg in python3 nodejs; do
    umoci tag --image "$d4/oci:bookworm" "bookworm-$pkg"
    layer "bookworm-$pkg" "$d4/rootfs/bookworm-$pkg"
  done
  umoci gc --layout "$d4/oci"
  touch "$d4/.done-oci"
fi

# The same four rootfs as images built independently, one layer each (as
# separate builds of a base image and its variants push them): what a
# registry stores whole today, and where chunk-level dedup has the most to
# find (bench/registry.mjs pushes both layouts).
if [ ! -e "$d4/.done-oci-flat" ]; then
  log "OCI layout of independent single-layer images with umoci"
  rm -rf "$d4/oci-flat" "$d4/bundle"
  umoci init --layout "$d4/oci-flat"
  for name in bookworm trixie bookworm-python3 bookworm-nodejs; do
    umoci new --image "$d4/oci-flat:$name"
    umoci unpack --image "$d4/oci-flat:$name" "$d4/bundle" >/dev/null
    rsync -aHAX --delete "$d4/rootfs/$name/" "$d4/bundle/rootfs/"
    umoci repack --image "$d4/oci-flat:$name" "$d4/bundle" >/dev/null
    rm -rf "$d4/bundle"
  done
  umoci gc --layout "$d4/oci-flat"
  touch "$d4/.done-oci-flat"
fi

ts="$out/npm-ts-10"
mkdir -p "$ts/tgz"
for v in 5.0.4 5.1.6 5.2.2 5.3.3 5.4.5 5.5.4 5.6.3 5.7.3 5.8.3 5.9.3; do
  if [ ! -d "$ts/typescript-$v" ]; then
    log "typescript $v"
    (cd "$ts/tgz" && npm pack --silent "typescript@$v" >/dev/null 2>&1)
    mkdir -p "$ts/typescript-$v.tmp"
    tar -xzf "$ts/tgz/typescript-$v.tgz" -C "$ts/typescript-$v.tmp"
    mv "$ts/typescript-$v.tmp" "$ts/typescript-$v"
  fi
done
log "corpus ready in $out"
du -sh "$d4/rootfs/"* "$d4/oci" "$ts" 2>/dev/null >&2 || true
