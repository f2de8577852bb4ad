#!/usr/bin/env bash
# Builds the real Pulumi CLI and its YAML language host, pinned, from the Go module proxy,
# into a cache outside the checkout; idempotent (a binary of the pinned version is reused).
#
#   bash tools/pulumi-cli/build.sh            # prints the directory holding the binaries
#   PULUMI_CLI_CACHE=/some/dir bash tools/pulumi-cli/build.sh
#
# `go install github.com/pulumi/pulumi/pkg/v3/...@version` is refused because that module's
# go.mod has `replace` lines, so the CLI is built from this wrapper module (go.mod/go.sum
# beside this script). The YAML host has no replace lines and is installed directly.
# Nothing built here is committed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

PULUMI_VERSION=v3.276.0
YAML_VERSION=v1.25.0
CACHE="${PULUMI_CLI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stackgate/pulumi-cli}"
BIN="$CACHE/$PULUMI_VERSION-yaml-$YAML_VERSION/bin"
mkdir -p "$BIN"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

if [ ! -x "$BIN/pulumi" ] || ! PULUMI_SKIP_UPDATE_CHECK=true "$BIN/pulumi" version 2>/dev/null | grep -qx "$PULUMI_VERSION"; then
  echo "== building pulumi $PULUMI_VERSION into $BIN" >&2
  (cd "$here" && go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$BIN/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  mv "$BIN/pulumi.tmp" "$BIN/pulumi"
fi

if [ ! -x "$BIN/pulumi-language-yaml" ]; then
  echo "== building pulumi-language-yaml $YAML_VERSION into $BIN" >&2
  GOBIN="$BIN" go install -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$YAML_VERSION" \
    "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$YAML_VERSION"
fi

echo "$BIN"
