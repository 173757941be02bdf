#!/usr/bin/env bash
# Builds (once, cached) and installs everything trimtab's tests run against:
# kube-apiserver, etcd (and kubectl, for people) from the Go module proxy, Debian's Prometheus, and
# checks for moto. Safe to run again: each part is skipped when up to date.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
k8s_version=v1.37.2
cache=${TRIMTAB_TESTENV_ASSETS:-${XDG_CACHE_HOME:-$HOME/.cache}/trimtab/$k8s_version/bin}
mkdir -p "$cache"

# Two checkouts (or two `make test`s) setting up at once wait for each other
# instead of building the same binaries into the same files.
exec 9>"$cache/.lock"
if ! flock -n 9; then
  echo "testenv: another setup is running in $cache; waiting for it..."
  flock 9
fi

# build NAME MODULE_DIR PACKAGE: rebuilds when the pinning go.mod/go.sum change.
build() {
  local name=$1 dir=$2 pkg=$3
  local stamp
  stamp=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -d' ' -f1)
  if [[ -x "$cache/$name" && "$(cat "$cache/$name.stamp" 2>/dev/null)" == "$stamp" ]]; then
    echo "testenv: $name is up to date in $cache"
    return
  fi
  echo "testenv: building $name from the Go module proxy into $cache (first time: kube-apiserver ~6-9 min, etcd ~1 min)..."
  local start=$SECONDS
  (cd "$dir" && go build -o "$cache/$name.tmp" "$pkg")
  mv "$cache/$name.tmp" "$cache/$name"
  echo "$stamp" > "$cache/$name.stamp"
  echo "testenv: built $name in $((SECONDS - start)) s"
}

build etcd "$root/hack/etcd" go.etcd.io/etcd/server/v3
build kube-apiserver "$root/hack/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
build kubectl "$root/hack/kube-apiserver" k8s.io/kubernetes/cmd/kubectl

apt_updated=
apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "testenv: need root to apt-get install $*; install them and run again" >&2
    exit 1
  fi
  if [[ -z $apt_updated ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  echo "testenv: apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

command -v prometheus >/dev/null && command -v promtool >/dev/null || apt_install prometheus

if ! python3 -c 'import moto.server' 2>/dev/null; then
  echo "testenv: python3 cannot import moto.server; the CloudWatch tests need moto (pip install 'moto[server]')" >&2
  exit 1
fi
echo "testenv: ready ($cache)"
