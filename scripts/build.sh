#!/usr/bin/env bash
# Builds the static linux/amd64 uid2-operator binary exactly as the image does:
# `uid2-release binary` runs `go build` with the one set of flags the image uses
# (CGO_ENABLED=0, -trimpath, -buildvcs=false, -ldflags "-s -w -buildid= -X …/internal/cli.version=…",
# GOFLAGS, GOEXPERIMENT and go.work ignored); see internal/release.BuildArgs and BuildEnv.
# Usage: scripts/build.sh [OUTPUT]   (default: bin/uid2-operator)
# IMAGE_VERSION sets the version reported by the binary (default: git describe; "dev" outside git).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./cmd/uid2-release binary -o "${1:-bin/uid2-operator}"
