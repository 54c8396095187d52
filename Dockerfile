# syntax=docker/dockerfile:1
# UID2 private operator image for Azure confidential containers (AKS virtual
# nodes / confidential ACI). The binary is built by scripts/build.sh, the
# same script CI runs, so the image and a local build use the same flags:
# CGO_ENABLED=0, -trimpath, -ldflags "-s -w -X …/internal/cli.version=$IMAGE_VERSION".
#
#   docker build --build-arg IMAGE_VERSION=1.2.3 -t uid2-operator:1.2.3 .

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG IMAGE_VERSION=1.0.0.unknownhash
RUN IMAGE_VERSION="${IMAGE_VERSION}" ./scripts/build.sh /out/app/uid2-operator \
 && mkdir -p /out/etc /out/tmp \
 && chmod 1777 /out/tmp \
 && echo 'uid2-operator:x:1000:1000:uid2-operator:/app:/nonexistent' > /out/etc/passwd \
 && echo 'uid2-operator:x:1000:' > /out/etc/group \
 && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt

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
COPY --from=build /out/etc/passwd /out/etc/group /etc/
COPY --from=build /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /out/app/uid2-operator /app/uid2-operator
ENV IMAGE_VERSION=${IMAGE_VERSION}
WORKDIR /app
# operator.yaml pins runAsUser: 1000 (azure-aks.md §1.1).
USER 1000:1000
# 8080: public API; 9080: Prometheus /metrics.
EXPOSE 8080 9080
# Exec form: the operator is PID 1 and gets SIGTERM itself.
ENTRYPOINT ["/app/uid2-operator"]
