#!/usr/bin/env bash
# container.sh - build and run mxguard's container images with podman: no Docker daemon, no registry.
#
# Usage:
#   container.sh setup                       # install podman & co. if missing, write podman's config
#   container.sh base                        # debootstrap bookworm (minbase) from this machine's apt mirror,
#                                            #   imported as debian:bookworm-slim (+ docker.io/library/ form)
#   container.sh build CONTEXT TAG [podman-build-args...]     # e.g. build . mxguard:test -f docker/Dockerfile
#   container.sh run [podman-run-args...] TAG [cmd...]         # podman run --pull=never (host network default)
#   container.sh podman ARGS...              # any podman command with this script's config (ps, exec, logs, ...)
#   eval "$(container.sh env)"               # then plain `podman ...` uses the same config and storage
#   container.sh cleanup [--images|--all]    # remove this script's containers; --images also the images
#                                            #   (the base image stays); --all removes the whole state dir
#
# Everything podman keeps (config, image storage, run state, the debootstrap rootfs) lives under
# ${MXGUARD_CONTAINER_DIR:-/var/tmp/mxguard-podman}; the system's /etc/containers and /var/lib/containers
# are not used. Needs root.
#
# Why the settings: crun refuses hybrid cgroups -> runtime runc; there is no systemd -> cgroupfs and
# file events; root may lack CAP_SYS_RESOURCE, so podman's default rlimits (nofile 1048576) would fail
# -> nofile/nproc 4096; the default network is the host's (the bridge would create cni-podman0 on the
# host: pass --network host|none explicitly anyway); images are never pulled (--pull=never);
# images are built in docker format, because the OCI format drops HEALTHCHECK.
set -euo pipefail

DIR=${MXGUARD_CONTAINER_DIR:-/var/tmp/mxguard-podman}
export CONTAINERS_CONF=$DIR/containers.conf
export CONTAINERS_STORAGE_CONF=$DIR/storage.conf
export CONTAINERS_REGISTRIES_CONF=$DIR/registries.conf
export BUILDAH_FORMAT=docker
# Every container this script starts carries this label, so cleanup never touches anyone else's.
LABEL=mxguard.test=1
BASE_IMAGE=localhost/mxguard-bookworm-minbase:latest

die() { echo "container.sh: $*" >&2; exit 1; }

setup() {
  [ "$(id -u)" -eq 0 ] || die "needs root"
  local need=() p
  for p in podman buildah runc debootstrap uidmap fuse-overlayfs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "container.sh: installing ${need[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends \
      "${need[@]}" >/dev/null 2>&1 || {
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 update -qq
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends \
          "${need[@]}" >/dev/null
      }
  fi
  mkdir -p "$DIR"/{storage,run,tmp,net,volumes}
  cat > "$CONTAINERS_CONF.new" <<EOF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
netns = "host"
log_driver = "k8s-file"
[network]
network_config_dir = "$DIR/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$DIR/events.log"
runtime = "runc"
tmp_dir = "$DIR/tmp"
volume_path = "$DIR/volumes"
EOF
  mv "$CONTAINERS_CONF.new" "$CONTAINERS_CONF"
  cat > "$CONTAINERS_STORAGE_CONF.new" <<EOF
[storage]
driver = "overlay"
graphroot = "$DIR/storage"
runroot = "$DIR/run"
EOF
  mv "$CONTAINERS_STORAGE_CONF.new" "$CONTAINERS_STORAGE_CONF"
  cat > "$CONTAINERS_REGISTRIES_CONF.new" <<'EOF'
# Nothing is ever pulled; short names resolve to local images (localhost/ or docker.io/library/).
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
EOF
  mv "$CONTAINERS_REGISTRIES_CONF.new" "$CONTAINERS_REGISTRIES_CONF"
}

# The Debian mirror this machine's apt already uses (first "URIs:" or "deb" line of its sources).
apt_mirror() {
  local m
  m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  [ -n "$m" ] || die "no Debian mirror found in the apt sources"
  echo "$m"
}

base() {
  setup
  if ! podman image exists "$BASE_IMAGE"; then
    if [ ! -x "$DIR/rootfs/bin/bash" ] || [ ! -e "$DIR/rootfs/.complete" ]; then
      rm -rf "$DIR/rootfs"
      local mirror; mirror=$(apt_mirror)
      echo "container.sh: debootstrap bookworm from $mirror (log: $DIR/debootstrap.log)" >&2
      debootstrap --variant=minbase bookworm "$DIR/rootfs" "$mirror" > "$DIR/debootstrap.log" 2>&1 || {
        tail -20 "$DIR/debootstrap.log" >&2; die "debootstrap failed"; }
      rm -rf "$DIR"/rootfs/var/cache/apt/archives/*.deb "$DIR"/rootfs/var/lib/apt/lists/*
      # Slim, as debian:bookworm-slim is (debuerreotype's slimify): no docs but the copyrights, no man
      # pages, info or translations, here and (dpkg path-exclude) in every layer built on top.
      find "$DIR/rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
      find "$DIR/rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
      rm -rf "$DIR"/rootfs/usr/share/{man,info}/*
      find "$DIR/rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
      cat > "$DIR/rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
      cat > "$DIR/rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
      touch "$DIR/rootfs/.complete"
    fi
    tar -C "$DIR/rootfs" --exclude=./.complete -c . | \
      podman import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null 2>"$DIR/import.log" || {
        cat "$DIR/import.log" >&2; die "podman import failed"; }
  fi
  local n
  for n in debian:bookworm-slim debian:bookworm; do   # as a Dockerfile's FROM spells it
    podman tag "$BASE_IMAGE" "localhost/$n" "docker.io/library/$n"
  done
  echo "container.sh: base image $BASE_IMAGE tagged debian:bookworm-slim, debian:bookworm" >&2
}

cleanup() {
  setup
  local ids
  ids=$(podman ps -aq --filter "label=$LABEL" 2>/dev/null || true)
  # shellcheck disable=SC2086
  [ -z "$ids" ] || podman rm -f -t 5 $ids >/dev/null 2>&1 || true
  case ${1:-} in
    --images)
      ids=$(podman images -q --filter "label=$LABEL" 2>/dev/null | sort -u || true)
      # shellcheck disable=SC2086
      [ -z "$ids" ] || podman rmi -f $ids >/dev/null 2>&1 || true
      podman image prune -f >/dev/null 2>&1 || true ;;
    --all)
      podman system reset -f >/dev/null 2>&1 || true
      rm -rf "$DIR" ;;
    "") ;;
    *) die "cleanup: unknown option $1" ;;
  esac
}

case ${1:-} in
  setup) setup ;;
  base) base ;;
  build)
    [ $# -ge 3 ] || die "usage: build CONTEXT TAG [podman-build-args...]"
    ctx=$2 tag=$3; shift 3
    base
    podman build --pull=never --isolation=chroot --network=host --format=docker --label "$LABEL" \
      -t "$tag" "$@" "$ctx" ;;
  run)
    shift; setup
    podman run --pull=never --label "$LABEL" "$@" ;;
  podman)
    shift; setup
    podman "$@" ;;
  env)
    setup >/dev/null
    printf 'export CONTAINERS_CONF=%q CONTAINERS_STORAGE_CONF=%q CONTAINERS_REGISTRIES_CONF=%q BUILDAH_FORMAT=docker\n' \
      "$CONTAINERS_CONF" "$CONTAINERS_STORAGE_CONF" "$CONTAINERS_REGISTRIES_CONF" ;;
  cleanup) shift; cleanup "$@" ;;
  *) sed -n '2,22p' "$0"; exit 2 ;;
esac
