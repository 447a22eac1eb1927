#!/usr/bin/env bash
# Runs every check mlrun has, from a fresh clone: installs what the tests
# need (staticcheck, goimports; the pinned MLflow versions in virtualenvs cached outside
# the repo, with psycopg2 for 3.x; Debian's postgresql for reststore's
# servers), then gofmt and goimports grouping, go vet, staticcheck and go test -race with the
# MLflow compatibility tests required (they fail, never skip, when MLflow is
# missing).
#
#   ./scripts/test.sh            everything
#   ./scripts/test.sh ./fsstore  only some packages (the checks still run on all)
set -euo pipefail
cd "$(dirname "$0")/.."

export MLRUN_CACHE_DIR="${MLRUN_CACHE_DIR:-$HOME/.cache/mlrun}"
STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2
GOIMPORTS_VERSION=v0.51.0  # golang.org/x/tools

step() { printf '\n=== %s\n' "$*" >&2; }

step "MLflow virtualenvs (cached in $MLRUN_CACHE_DIR)"
venvs=$(scripts/mlflow-venvs.sh)
eval "$venvs"
export MLRUN_REQUIRE_MLFLOW=1

step "PostgreSQL server binaries (reststore runs mlflow server 3.x on a throwaway cluster)"
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && ! command -v initdb >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
	else
		echo "PostgreSQL is missing: install Debian's postgresql package (as root: apt-get install -y postgresql)" >&2
		exit 1
	fi
fi

step "staticcheck $STATICCHECK_VERSION"
gobin="$MLRUN_CACHE_DIR/gobin-$STATICCHECK_VERSION"
if [ ! -x "$gobin/staticcheck" ]; then
	GOBIN="$gobin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
goimports_bin="$MLRUN_CACHE_DIR/gobin-goimports-$GOIMPORTS_VERSION/goimports"
if [ ! -x "$goimports_bin" ]; then
	GOBIN="$(dirname "$goimports_bin")" go install "golang.org/x/tools/cmd/goimports@$GOIMPORTS_VERSION"
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "goimports (standard library, then others, then mlrun's own packages)"
ungrouped=$("$goimports_bin" -local github.com/mlrun-go/mlrun -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$ungrouped" ]; then
	echo "goimports -local github.com/mlrun-go/mlrun would change:" >&2
	echo "$ungrouped" >&2
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

# The race detector makes the many-writer tests run a smaller workload; run
# the issue's full size once more without it: 8 processes × 4 goroutines ×
# 5,000 points into one store, 160,000 points that MLflow must read back.
step "many writers at full size (no -race)"
go test -count=1 -timeout 20m -run '^(TestCrossProcessLogging|TestManyWriters)$' ./fsstore ./sqlstore
