#!/usr/bin/env bash
# Runs every check mlrun has, from a fresh clone: installs what the tests
# need (staticcheck; the pinned MLflow versions in virtualenvs cached outside
# the repo), then gofmt, go vet, staticcheck and go test -race with the
# MLflow compatibility tests required (they fail, never skip, when MLflow is
# missing).
#
#   ./scripts/test.sh            everything
#   ./scripts/test.sh ./fsstore  only some packages (the checks still run on all)
set -euo pipefail
cd "$(dirname "$0")/.."

export MLRUN_CACHE_DIR="${MLRUN_CACHE_DIR:-$HOME/.cache/mlrun}"
STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2

step() { printf '\n=== %s\n' "$*" >&2; }

step "MLflow virtualenvs (cached in $MLRUN_CACHE_DIR)"
venvs=$(scripts/mlflow-venvs.sh)
eval "$venvs"
export MLRUN_REQUIRE_MLFLOW=1

step "staticcheck $STATICCHECK_VERSION"
gobin="$MLRUN_CACHE_DIR/gobin-$STATICCHECK_VERSION"
if [ ! -x "$gobin/staticcheck" ]; then
	GOBIN="$gobin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
"$gobin/staticcheck" ./...

step "go test -race"
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
go test -race -count=1 -timeout 45m "${pkgs[@]}"
