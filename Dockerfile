# syntax=docker/dockerfile:1
#
# Riposte: one static binary on a distroless base, running as non-root.
#
#   docker build -t riposte:local .
#   docker run --rm riposte:local validate /etc/riposte/playbooks
#
# The same image runs `riposte worker` and `riposte serve` (docker-compose.yml).
# Base images are pinned by tag; pin them by digest too in your registry
# mirror or with a dependency bot (FROM image:tag@sha256:...).

ARG GO_IMAGE=golang:1.26.8
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Pure Go (SQLite is modernc.org/sqlite): a static binary without cgo.
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/riposte ./cmd/riposte \
 && /out/riposte validate playbooks/ \
 && mkdir -p /out/etc/riposte/config /out/var/lib/riposte/playbook-store \
 && cp -R playbooks /out/etc/riposte/playbooks

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="riposte" \
      org.opencontainers.image.description="Automated response (SOAR) engine on Temporal" \
      org.opencontainers.image.source="https://github.com/riposte-dev/riposte"
COPY --from=build /out/riposte /usr/local/bin/riposte
# Shipped playbooks as defaults; mount your own over /etc/riposte/playbooks.
COPY --from=build /out/etc/riposte /etc/riposte
# The playbook store's mount point (RIPOSTE_PLAYBOOK_STORE), writable by the
# non-root user: a named volume mounted here starts with its ownership.
COPY --from=build --chown=65532:65532 /out/var/lib/riposte /var/lib/riposte
ENV RIPOSTE_PLAYBOOKS=/etc/riposte/playbooks \
    RIPOSTE_CONFIG=/etc/riposte/config/riposte.yaml \
    RIPOSTE_POLICY=/etc/riposte/config/policy.yaml \
    RIPOSTE_HTTP=0.0.0.0:8080 \
    RIPOSTE_LOG_FORMAT=json
# distroless "nonroot" is uid/gid 65532 with home /home/nonroot.
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/riposte"]
CMD ["help"]
