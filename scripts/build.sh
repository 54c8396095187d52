#!/usr/bin/env bash
# Builds the static uid2-operator binary exactly as the container image does.
# Usage: scripts/build.sh [OUTPUT]   (default: bin/uid2-operator)
# IMAGE_VERSION sets the version reported by the binary (default: dev).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/uid2-operator}
version=${IMAGE_VERSION:-dev}
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/uid2-private-operator/uid2-operator/internal/cli.version=${version}" -o "$out" ./cmd/uid2-operator
echo "built $out (version $version)"
