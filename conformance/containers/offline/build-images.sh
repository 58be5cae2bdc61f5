#!/usr/bin/env bash
# build-images.sh - build the Redis/Valkey test images from Debian packages.
#
# Why: the conformance tests run real Redis and Valkey servers in Docker, but
# the machines this project is tested on reach no container registry, so the
# official images (redis:7.0, redis:8.0, valkey/valkey:8.1) cannot be pulled.
# They do reach Debian's package archive, so this script debootstraps minimal
# Debian root filesystems holding the server packages and `docker import`s
# them as local images:
#
#   alertstore-offline/redis:7.0   Debian 12 bookworm: redis-server, redis-sentinel (7.0.x)
#   alertstore-offline/redis:8.0   Debian 13 trixie:   redis-server, redis-sentinel (8.0.x)
#   alertstore-offline/valkey:8.1  Debian 13 trixie:   valkey-server, valkey-sentinel (8.1.x)
#
# The two trixie images come from one debootstrap run (one rootfs holding both
# servers), imported twice with a different default CMD.
#
# No ENTRYPOINT is set: the Go helpers in conformance/containers always pass
# an explicit command (redis-server ... / valkey-server ...), which then works
# the same with these images and with the official ones.
#
# Usage: conformance/containers/offline/build-images.sh
#   Idempotent: a tag that already exists is skipped. Runs as root, non-
#   interactively (CI=true, no stdin is fine).
#
# Environment:
#   ALERTSTORE_DEBIAN_MIRROR  Debian mirror URL. Default: read from this
#                             machine's apt sources (deb822 URIs: lines in
#                             /etc/apt/sources.list.d/*.sources, or deb lines in
#                             /etc/apt/sources.list[.d/*.list]).
#   ALERTSTORE_IMAGE_WORKDIR  Scratch directory for the root filesystems.
#                             Default: a fresh mktemp dir, removed at the end.
#                             A given directory is kept, only our subdirs in it
#                             are removed.
#   ALERTSTORE_DEBIAN_KEYRING Keyring to check the archive's Release files
#                             with. Default: Debian's archive keyring.
#   ALERTSTORE_IMAGE_PREFIX   Image name prefix. Default: alertstore-offline.
#   ALERTSTORE_FORCE_REBUILD  If 1, rebuild tags that already exist.
set -euo pipefail

PREFIX="${ALERTSTORE_IMAGE_PREFIX:-alertstore-offline}"
REDIS7_TAG="$PREFIX/redis:7.0"
REDIS8_TAG="$PREFIX/redis:8.0"
VALKEY_TAG="$PREFIX/valkey:8.1"
KEYRING="${ALERTSTORE_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
FORCE="${ALERTSTORE_FORCE_REBUILD:-0}"

export DEBIAN_FRONTEND=noninteractive

log() { printf '[build-images] %s\n' "$*" >&2; }
die() { printf '[build-images] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- preflight
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap needs it)"
command -v docker >/dev/null 2>&1 || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "no Docker engine reachable (docker info failed)"

# Serialize concurrent runs (several test jobs may call this at once): the
# second one waits, then finds the tags present and skips them.
LOCKFILE="${TMPDIR:-/tmp}/alertstore-build-images.lock"
exec 9>"$LOCKFILE"
if ! flock -n 9; then
  log "another build-images.sh is running; waiting for it ($LOCKFILE)"
  flock 9
fi

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

need() { # need TAG -> true if TAG must be built
  [ "$FORCE" = 1 ] && return 0
  if image_exists "$1"; then
    log "skip $1: already exists"
    return 1
  fi
  return 0
}

BUILD_REDIS7=0; BUILD_REDIS8=0; BUILD_VALKEY=0
need "$REDIS7_TAG" && BUILD_REDIS7=1
need "$REDIS8_TAG" && BUILD_REDIS8=1
need "$VALKEY_TAG" && BUILD_VALKEY=1

print_versions() {
  local tag
  for tag in "$REDIS7_TAG" "$REDIS8_TAG"; do
    image_exists "$tag" && log "$tag: $(docker run --rm --network none "$tag" redis-server --version)"
  done
  image_exists "$VALKEY_TAG" && log "$VALKEY_TAG: $(docker run --rm --network none "$VALKEY_TAG" valkey-server --version)"
  return 0
}

if [ $((BUILD_REDIS7 + BUILD_REDIS8 + BUILD_VALKEY)) -eq 0 ]; then
  log "all images present, nothing to build"
  print_versions
  exit 0
fi

# ------------------------------------------------------------ debootstrap
if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  apt-get install -y -q debootstrap </dev/null >/dev/null 2>&1 || {
    apt-get update -q </dev/null >/dev/null
    apt-get install -y -q debootstrap </dev/null >/dev/null
  }
fi
DEBOOTSTRAP_SCRIPTS=/usr/share/debootstrap/scripts

# ---------------------------------------------------------------- mirror
# find_mirror prints the first plain Debian archive URI (not the security
# archive) configured in this machine's apt sources.
find_mirror() {
  local f uri
  shopt -s nullglob
  # deb822: stanzas with "URIs:" and "Suites:"; skip security-only stanzas.
  for f in /etc/apt/sources.list.d/*.sources; do
    uri=$(awk '
      function flush() {
        if (uris != "" && !disabled && suites !~ /-security/ && types ~ /(^|[ \t])deb([ \t]|$)/) {
          n = split(uris, u, /[ \t]+/)
          for (i = 1; i <= n; i++) if (u[i] ~ /^(https?|file):/) { print u[i]; found = 1; exit }
        }
        uris = ""; suites = ""; types = "deb"; disabled = 0
      }
      BEGIN { types = "deb" }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:"  { $1 = ""; types = $0 }
      tolower($1) == "uris:"   { $1 = ""; sub(/^[ \t]+/, ""); uris = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "enabled:" && tolower($2) == "no" { disabled = 1 }
      END { if (!found) flush() }
    ' "$f")
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  # one-line format: deb [options] URI suite components...
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri=$(awk '
      $1 != "deb" { next }
      {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i+1) ~ /-security/) next
        if ($i ~ /^(https?|file):/) { print $i; exit }
      }
    ' "$f")
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  return 1
}

if [ -n "${ALERTSTORE_DEBIAN_MIRROR:-}" ]; then
  MIRROR="$ALERTSTORE_DEBIAN_MIRROR"
  log "mirror (from ALERTSTORE_DEBIAN_MIRROR): $MIRROR"
else
  MIRROR=$(find_mirror) || die "no Debian mirror found in /etc/apt/sources.list[.d]; set ALERTSTORE_DEBIAN_MIRROR"
  log "mirror (from apt sources): $MIRROR"
fi
MIRROR="${MIRROR%/}"

# -------------------------------------------------------------- workdir
if [ -n "${ALERTSTORE_IMAGE_WORKDIR:-}" ]; then
  WORKDIR="$ALERTSTORE_IMAGE_WORKDIR"
  mkdir -p "$WORKDIR"
  OWN_WORKDIR=0
else
  WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/alertstore-images.XXXXXX")
  OWN_WORKDIR=1
fi
cleanup() {
  local d
  for d in "$WORKDIR/bookworm" "$WORKDIR/trixie"; do
    [ -d "$d" ] && umount_all "$d"
  done
  if [ "$OWN_WORKDIR" = 1 ]; then
    rm -rf --one-file-system "$WORKDIR"
  else
    rm -rf --one-file-system "$WORKDIR/bookworm" "$WORKDIR/trixie" \
      "$WORKDIR/bookworm.log" "$WORKDIR/trixie.log"
  fi
}
# debootstrap mounts /proc and /sys in the target; a failed run can leave
# them mounted, and rm -rf must never descend into them.
umount_all() {
  local m
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
log "workdir: $WORKDIR"

# bootstrap SUITE DIR PKGS: debootstrap a minbase rootfs with PKGS in DIR.
bootstrap() {
  local suite=$1 dir=$2 pkgs=$3 script=()
  if [ ! -e "$DEBOOTSTRAP_SCRIPTS/$suite" ]; then
    # Older debootstrap releases lack scripts for newer suites; every Debian
    # suite since bookworm uses the same script as sid.
    [ -e "$DEBOOTSTRAP_SCRIPTS/sid" ] || die "debootstrap has neither a $suite nor a sid script"
    log "debootstrap has no $suite script; using $DEBOOTSTRAP_SCRIPTS/sid"
    script=("$DEBOOTSTRAP_SCRIPTS/sid")
  fi
  local keyopt=()
  [ -r "$KEYRING" ] && keyopt=(--keyring="$KEYRING")
  rm -rf --one-file-system "$dir"
  log "debootstrap $suite ($pkgs) into $dir"
  local start=$SECONDS
  if ! debootstrap --variant=minbase --include="$pkgs" "${keyopt[@]}" \
      "$suite" "$dir" "$MIRROR" "${script[@]}" </dev/null >"$dir.log" 2>&1; then
    tail -n 30 "$dir.log" >&2 || true
    [ -f "$dir/debootstrap/debootstrap.log" ] && tail -n 30 "$dir/debootstrap/debootstrap.log" >&2
    die "debootstrap $suite failed (log above)"
  fi
  log "debootstrap $suite done in $((SECONDS - start))s"
  umount_all "$dir"
  slim "$dir"
}

# slim DIR: drop what a server container never needs, to keep images small.
slim() {
  local dir=$1
  chroot "$dir" apt-get clean >/dev/null 2>&1 || true
  rm -rf "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* \
    "$dir"/var/cache/debconf/*-old "$dir"/var/lib/dpkg/*-old \
    "$dir"/var/log/* "$dir"/tmp/* "$dir"/var/tmp/* \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
    "$dir"/usr/share/locale/* "$dir"/usr/share/lintian "$dir"/usr/share/linda
  mkdir -p "$dir/var/lib/apt/lists/partial" "$dir/var/cache/apt/archives/partial"
  # Like the official images: a /data working directory for RDB/AOF files.
  mkdir -p "$dir/data"
  # Debian's packages start the service from postinst when they can; make
  # sure nothing of the chroot's runtime state ends up in the image.
  rm -rf "$dir"/run/* "$dir"/var/run/redis/* "$dir"/var/run/valkey/* 2>/dev/null || true
  : >"$dir/etc/machine-id" 2>/dev/null || true
  # resolv.conf/hostname/hosts are bind-mounted by Docker at run time.
  rm -f "$dir/etc/resolv.conf" "$dir/etc/hostname"
  log "rootfs $(basename "$dir"): $(du -sh --one-file-system "$dir" | cut -f1)"
}

# import DIR TAG SERVER: import DIR as TAG, default command SERVER.
import_image() {
  local dir=$1 tag=$2 server=$3 id
  id=$(tar --numeric-owner --one-file-system -C "$dir" -c . |
    docker import \
      --change "CMD [\"$server\"]" \
      --change 'WORKDIR /data' \
      --change 'EXPOSE 6379' \
      --message "alertstore offline image built from Debian packages by build-images.sh" \
      - "$tag")
  log "imported $tag ($id)"
}

BUILT=()
TOTAL_START=$SECONDS
if [ "$BUILD_REDIS7" = 1 ]; then
  bootstrap bookworm "$WORKDIR/bookworm" redis-server,redis-sentinel
  import_image "$WORKDIR/bookworm" "$REDIS7_TAG" redis-server
  rm -rf --one-file-system "$WORKDIR/bookworm"
  BUILT+=("$REDIS7_TAG")
fi
if [ "$BUILD_REDIS8" = 1 ] || [ "$BUILD_VALKEY" = 1 ]; then
  # One rootfs with both servers: they share every dependency and do not
  # conflict, and one debootstrap is most of the build time.
  bootstrap trixie "$WORKDIR/trixie" redis-server,redis-sentinel,valkey-server,valkey-sentinel
  if [ "$BUILD_REDIS8" = 1 ]; then
    import_image "$WORKDIR/trixie" "$REDIS8_TAG" redis-server
    BUILT+=("$REDIS8_TAG")
  fi
  if [ "$BUILD_VALKEY" = 1 ]; then
    import_image "$WORKDIR/trixie" "$VALKEY_TAG" valkey-server
    BUILT+=("$VALKEY_TAG")
  fi
  rm -rf --one-file-system "$WORKDIR/trixie"
fi

log "built ${BUILT[*]} in $((SECONDS - TOTAL_START))s"
docker image ls "$PREFIX/*" >&2
print_versions
