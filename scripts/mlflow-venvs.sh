#!/usr/bin/env bash
# Creates one virtualenv per MLflow version listed in compat/mlflow-versions.txt,
# for the compatibility harness (package compat).
#
#   eval "$(scripts/mlflow-venvs.sh)"
#
# Venvs live outside the repo in ${MLRUN_CACHE_DIR:-$HOME/.cache/mlrun}/venv-<version>.
# A marker file (.mlrun-installed) records a verified install, so reruns are
# instant. Progress goes to stderr; stdout carries only the export lines.
# Environment:
#   MLRUN_CACHE_DIR  where the venvs live (default $HOME/.cache/mlrun)
#   MLRUN_PYTHON     the interpreter to create venvs with (default python3)
#   MLRUN_MLFLOW_VERSIONS_FILE  another versions list (default compat/mlflow-versions.txt)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
versions_file=${MLRUN_MLFLOW_VERSIONS_FILE:-$repo/compat/mlflow-versions.txt}
cache=${MLRUN_CACHE_DIR:-$HOME/.cache/mlrun}
python=${MLRUN_PYTHON:-python3}

log() { printf 'mlflow-venvs: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -r $versions_file ]] || die "cannot read $versions_file"
mapfile -t versions < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$versions_file" | grep -v '^$')
((${#versions[@]})) || die "no versions in $versions_file"
for v in "${versions[@]}"; do
	[[ $v =~ ^[0-9A-Za-z.+-]+$ ]] || die "bad version '$v' in $versions_file"
done
command -v "$python" >/dev/null || die "interpreter '$python' not found (set MLRUN_PYTHON)"
mkdir -p "$cache"

for v in "${versions[@]}"; do
	venv="$cache/venv-$v"
	marker="$venv/.mlrun-installed"
	# Dependencies are pinned by compat/constraints-<version>.txt (a pip
	# freeze of a working venv), so every run installs the same set. The
	# marker holds the requirement and the constraints' hash; a change
	# reinstalls.
	constraints="$repo/compat/constraints-$v.txt"
	[[ -r $constraints ]] || die "$v: missing $constraints (pip freeze of a working venv)"
	want="mlflow==$v $(sha256sum "$constraints" | cut -c1-16)"
	if [[ -f $marker && $(<"$marker") == "$want" && -x $venv/bin/python ]]; then
		log "$v: ready ($venv)"
		continue
	fi
	rm -f "$marker"
	if [[ ! -x $venv/bin/python ]]; then
		log "$v: creating venv $venv"
		"$python" -m venv "$venv" >&2 || die "$v: '$python -m venv $venv' failed"
	fi
	logfile="$cache/install-$v.log"
	# Extra packages the tests need are installed when the constraints pin
	# them: psycopg2-binary, the PostgreSQL driver of the REST backend's
	# `mlflow server` (reststore's tests run 3.x on PostgreSQL).
	extras=()
	if grep -q '^psycopg2-binary==' "$constraints"; then
		extras+=(psycopg2-binary)
	fi
	log "$v: pip install mlflow==$v ${extras[*]} -c $constraints (log: $logfile)"
	if ! "$venv/bin/python" -m pip install --disable-pip-version-check "mlflow==$v" "${extras[@]}" -c "$constraints" >"$logfile" 2>&1; then
		tail -n 20 "$logfile" >&2
		die "$v: 'pip install mlflow==$v' failed; see $logfile"
	fi
	if ((${#extras[@]})); then
		"$venv/bin/python" -c 'import psycopg2' 2>>"$logfile" ||
			die "$v: psycopg2 does not import after install; see $logfile"
	fi
	got=$("$venv/bin/python" -c 'import mlflow; print(mlflow.__version__)' 2>>"$logfile") ||
		die "$v: mlflow does not import after install; see $logfile"
	[[ $got == "$v" ]] || die "$v: installed mlflow reports version '$got'"
	# The harness needs the CLI (server, migrate-filestore) and, for the
	# fixtures, pandas (log_table) and Pillow (log_image); all come with mlflow.
	"$venv/bin/python" -c 'import pandas, PIL, numpy' 2>>"$logfile" ||
		die "$v: pandas/Pillow/numpy missing after install; see $logfile"
	[[ -x $venv/bin/mlflow ]] || die "$v: $venv/bin/mlflow missing after install"
	printf '%s' "$want" >"$marker"
	log "$v: installed"
done

printf 'export MLRUN_MLFLOW_VENVS=%q\n' "$cache"
printf 'export MLRUN_MLFLOW_VERSIONS="%s"\n' "${versions[*]}"
