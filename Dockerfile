# UID2 private operator image, for Docker (or podman/buildah) users.
#
#   docker build --build-arg IMAGE_VERSION=1.2.3 --build-arg REVISION=$(git rev-parse HEAD) -t uid2-operator:1.2.3 .
#
# The image whose digest, CCE policy and enclave id you register with UID2 is
# the one `go run ./cmd/uid2-release image` builds without a Docker engine: it is
# reproducible (same commit, same digest). This Dockerfile puts the same files
# in the image — the binary from scripts/build.sh (uid2-release's flags), the
# pinned CA bundle internal/ociimage/ca-certificates.crt, /etc/passwd and
# /etc/group for uid 1000, /tmp with mode 1777 — but Docker chooses its own
# layers and timestamps, so its digest differs from uid2-release's and from
# one build to the next. internal/release/dockerfile_test.go keeps the two in step.
#
# The base image is fully qualified (no short-name resolution, which podman
# refuses) and pinned by digest. That digest is the multi-arch index of
# docker.io/library/golang:1.26.8-bookworm as public Dockerfiles pin it (several
# independent repositories agree); it was not pulled from the machine that wrote
# this file, so check it before relying on it:
#   skopeo inspect --format '{{.Digest}}' docker://docker.io/library/golang:1.26.8-bookworm
# (or `crane digest`). Bump the tag and the digest together.
ARG GO_IMAGE=docker.io/library/golang:1.26.8-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG IMAGE_VERSION=1.0.0.unknownhash
# The whole root filesystem is assembled under /rootfs and copied in one COPY
# of its contents: subdirectories keep their modes (a COPY of a directory
# itself would recreate /tmp as 0755 root, and uid 1000 could not write there).
RUN umask 022 \
 && IMAGE_VERSION="${IMAGE_VERSION}" ./scripts/build.sh /rootfs/app/uid2-operator \
 && mkdir -p /rootfs/etc/ssl/certs /rootfs/tmp \
 && chmod 1777 /rootfs/tmp \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nuid2-operator:x:1000:1000:uid2-operator:/app:/sbin/nologin\n' > /rootfs/etc/passwd \
 && printf 'root:x:0:\nuid2-operator:x:1000:\n' > /rootfs/etc/group \
 && cp internal/ociimage/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \
 && chmod 0755 /rootfs/app /rootfs/app/uid2-operator \
 && chown -R 0:0 /rootfs

# Final image: the static binary, CA roots, a passwd entry for uid 1000 and
# /tmp. No shell, no package manager.
FROM scratch
ARG IMAGE_VERSION=1.0.0.unknownhash
ARG REVISION=unknown
LABEL org.opencontainers.image.title="uid2-operator" \
      org.opencontainers.image.description="UID2 private operator (Go) for Azure confidential containers on AKS virtual nodes" \
      org.opencontainers.image.version="${IMAGE_VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/uid2-private-operator/uid2-operator"
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV IMAGE_VERSION=${IMAGE_VERSION}
WORKDIR /app
# operator.yaml pins runAsUser: 1000 (azure-aks.md §1.1).
USER 1000:1000
# 8080: public API; 9080: Prometheus /metrics.
EXPOSE 8080 9080
# Exec form: the operator is PID 1 and gets SIGTERM itself.
ENTRYPOINT ["/app/uid2-operator"]
