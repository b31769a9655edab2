#!/usr/bin/env bash
# `make ee`, first half: build the execution environment image of examples/execution-environment.yml
# with ansible-builder and podman, as an AWX administrator would, on a machine that reaches no
# container registry. So:
#   - podman, runc and debootstrap come from Debian's packages (installed here when missing);
#   - the base image is made here: a Debian 12 root file system from debootstrap (python3, pip,
#     CA certificates) with a Python environment in /opt/venv (Debian's own python3 refuses
#     ensurepip, which ansible-builder runs), given this machine's pip index and CA bundle, and
#     imported with `podman import` as localhost/v7-ee-base:debian12. It stands in for the
#     example's base image (build arguments EE_BASE_IMAGE, PYCMD=/opt/venv/bin/python3, and
#     PKGMGR=/usr/bin/apt-get); nothing is ever pulled;
#   - podman runs with runc and cgroupfs and explicit ulimits no higher than the current ones
#     (crun cannot set cgroups or raise rlimits on this kind of machine), through a containers.conf
#     written to build/ee/ and named by CONTAINERS_CONF;
#   - the build's RUN steps use the host's network, so pip reaches the same package index the
#     machine uses.
# Writes the image's name to build/ee/image. The second half (tests/packaging/ee/test_ee.py) runs
# the AWX jobs in it.
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$PWD
OUT=$ROOT/build/ee
BASE=localhost/v7-ee-base:debian12
VERSION=$(.venv/bin/python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
IMAGE=localhost/v7-azure-storage-ee:$VERSION
mkdir -p "$OUT"
step() { printf '\n== %s (%s s so far)\n' "$1" "$SECONDS"; }

step "tools: podman, runc, debootstrap from Debian's packages"
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi
podman --version; runc --version | head -1

step "podman settings: runc, cgroupfs, ulimits below the current limits"
# 4096 open files and processes, or the current limit when lower: plenty for a job of a few forks.
# (runc could not set nproc at the current limit of 96362 here, nor at 65536; 32768 worked.)
below() { local current=$1; [[ $current == unlimited || $current -gt 4096 ]] && echo 4096 || echo "$current"; }
nofile=$(below "$(ulimit -n)"); nproc=$(below "$(ulimit -u)")
cat > "$OUT/containers.conf" <<CONF
# written by tests/packaging/ee/build.sh
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$OUT/containers.conf
cat "$CONTAINERS_CONF"
ULIMITS="--ulimit nofile=$nofile:$nofile --ulimit nproc=$nproc:$nproc"

step "base image $BASE"
if podman image exists "$BASE"; then
    echo "already made; podman rmi $BASE to make it again"
else
    # the Debian mirror this machine's apt uses
    mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
    [[ -n $mirror ]] || mirror=$(awk '$1 == "deb" && $3 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    [[ -n $mirror ]] || mirror=http://deb.debian.org/debian
    rm -rf "$OUT/rootfs"
    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
        bookworm "$OUT/rootfs" "$mirror" > "$OUT/debootstrap.log" 2>&1 \
        || { tail -20 "$OUT/debootstrap.log"; exit 1; }
    # the machine's package index, and its CA bundle (which trusts whatever the machine's pip trusts)
    index=$(python3 -m pip config get global.index-url 2>/dev/null || true)
    index=${PIP_INDEX_URL:-${index:-https://pypi.org/simple}}
    cp /etc/ssl/certs/ca-certificates.crt "$OUT/rootfs/etc/ssl/certs/ca-certificates.crt"
    printf '[global]\nindex-url = %s\ncert = /etc/ssl/certs/ca-certificates.crt\ntimeout = 180\n' "$index" \
        > "$OUT/rootfs/etc/pip.conf"
    rm -rf "$OUT/rootfs/var/cache/apt/archives/"*.deb
    chroot "$OUT/rootfs" /usr/bin/python3 -m venv /opt/venv
    tar -C "$OUT/rootfs" -c . | podman import \
        --change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - "$BASE" >/dev/null
    rm -rf "$OUT/rootfs"
    echo "made from Debian 12 with debootstrap ($mirror), pip index $index"
fi

step "the collection's tarball (build/dist), as the example's comment says"
.venv/bin/ansible-galaxy collection build --force --output-path build/dist

step "ansible-builder build -f examples/execution-environment.yml"
.venv/bin/ansible-builder build -f examples/execution-environment.yml --context "$OUT/context" \
    --container-runtime podman -t "$IMAGE" \
    --build-arg EE_BASE_IMAGE="$BASE" --build-arg PKGMGR=/usr/bin/apt-get --build-arg PKGMGR_PRESERVE_CACHE=keep \
    --build-arg PYCMD=/opt/venv/bin/python3 \
    --extra-build-cli-args "--pull=never --network=host $ULIMITS" -v 2 > "$OUT/build.log" 2>&1 \
    || { tail -40 "$OUT/build.log"; exit 1; }
grep -E '^(STEP|COMMIT|Successfully)' "$OUT/build.log" | tail -3 || true
podman image ls "$IMAGE"

echo "$IMAGE" > "$OUT/image"
step "built $IMAGE"
