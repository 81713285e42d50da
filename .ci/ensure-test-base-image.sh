#!/usr/bin/env bash
# Builds the local base image the tests use (no registry can be reached here):
# a minimal Debian bookworm root file system with python3, venv and pip, imported
# into Docker. The mirror is read from this machine's apt sources; none is written here.
set -euo pipefail

IMAGE="${SCRIPTER_TEST_BASE_IMAGE:-scripter-test-base:bookworm}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
# grep exits 2 when a glob matches no file: the "|| true" keep pipefail quiet.
mirror="$(
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '$1 == "URIs:" {print $2}' || true;
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" {print $2}' || true; } \
  | { grep -v -- '-security' || true; } | { grep -i debian || true; } | head -1
)"
if [ -z "$mirror" ]; then
  echo "no Debian mirror found in the apt sources" >&2
  exit 1
fi
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
  bookworm "$rootfs" "$mirror" >/tmp/debootstrap.log 2>&1 || {
  tail -30 /tmp/debootstrap.log >&2
  exit 1
}
tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$IMAGE" >/dev/null
echo "built $IMAGE"
