#!/usr/bin/env bash
# Runs the reproducible image the way AKS does (uid 1000, read-only root, every
# capability dropped, no new privileges) under podman and checks that
# /ops/healthcheck answers 200 in local mode. Needs podman and curl; no Docker.
# Usage: scripts/podman-check.sh [OCI_LAYOUT_DIR]   (default: build one in a temp dir)
# PODMAN_RUN_FLAGS adds podman flags, e.g. on sandboxed hosts where crun cannot set
# rlimits or cgroups:
#   PODMAN_FLAGS="--runtime runc" PODMAN_RUN_FLAGS="--ulimit nofile=20000:20000 --ulimit nproc=4096:4096"
set -euo pipefail
cd "$(dirname "$0")/.."
command -v podman >/dev/null || { echo "podman-check: podman is not installed"; exit 2; }
# podman names an image pulled from oci:PATH after PATH, which must then be
# lowercase: the layout is reached through a lowercase link.
work="/tmp/uid2-podman-check-$$"
mkdir -p "$work"
name="uid2-podman-check-$$"
image="localhost$work/layout:latest"
cleanup() {
  podman ${PODMAN_FLAGS:-} rm -f "$name" >/dev/null 2>&1 || true
  podman rmi -f "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
layout=${1:-}
if [[ -z $layout ]]; then
  layout="$work/built"
  go run ./cmd/uid2-release image --oci-layout "$layout" | tail -n 1
fi
ln -s "$(cd "$layout" && pwd)" "$work/layout"
podman pull -q "oci:$work/layout" >/dev/null
port=$((20000 + $$ % 10000))
# shellcheck disable=SC2086 # the flag variables are word lists on purpose
podman ${PODMAN_FLAGS:-} run -d --name "$name" --user 1000:1000 --read-only --cap-drop=ALL \
  --security-opt no-new-privileges -p "127.0.0.1:$port:8080" ${PODMAN_RUN_FLAGS:-} "$image" >/dev/null
code=000
for _ in $(seq 1 30); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/ops/healthcheck" || true)
  [[ $code == 200 ]] && break
  sleep 1
done
pid=$(podman inspect -f '{{.State.Pid}}' "$name")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo "?")
caps=$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo "?")
echo "podman-check: /ops/healthcheck $code, uid $uid, effective capabilities $caps, read-only $(podman inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$name")"
if [[ $code != 200 ]]; then
  podman logs "$name" 2>&1 | tail -20
  exit 1
fi
# SIGTERM drains for --drain-delay (15s) and then up to --shutdown-timeout (25s).
podman stop -t 45 "$name" >/dev/null
exit_code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
echo "podman-check: exit code after SIGTERM $exit_code"
[[ $exit_code == 0 ]]
