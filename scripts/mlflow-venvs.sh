#!/usr/bin/env bash
# Creates one virtualenv per MLflow version listed in internal/compat/mlflow-versions.txt,
# for the compatibility harness (package compat), and one per version listed in
# internal/compat/mlflow-extra-versions.txt, for the schema tests (sqlstore/schema,
# sqlstore): those get mlflow-skinny with SQLAlchemy and alembic only, which
# is all the SQL store and MlflowClient need. Missing venvs install in
# parallel.
#
#   eval "$(scripts/mlflow-venvs.sh)"
#
# Venvs live outside the repo in ${MLRUN_CACHE_DIR:-$HOME/.cache/mlrun}/venv-<version>.
# A marker file (.mlrun-installed) records a verified install, so reruns are
# instant. Progress goes to stderr; stdout carries only the export lines.
# Environment:
#   MLRUN_CACHE_DIR  where the venvs live (default $HOME/.cache/mlrun)
#   MLRUN_PYTHON     the interpreter to create venvs with (default python3)
#   MLRUN_MLFLOW_VERSIONS_FILE  another versions list (default internal/compat/mlflow-versions.txt;
#                    then no extra versions are installed)
#   MLRUN_MLFLOW_EXTRA_VERSIONS_FILE  another extra versions list
#                    (default internal/compat/mlflow-extra-versions.txt; /dev/null for none)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
versions_file=${MLRUN_MLFLOW_VERSIONS_FILE:-$repo/internal/compat/mlflow-versions.txt}
cache=${MLRUN_CACHE_DIR:-$HOME/.cache/mlrun}
python=${MLRUN_PYTHON:-python3}

log() { printf 'mlflow-venvs: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

read_versions() {
	[[ -r $1 ]] || die "cannot read $1"
	sed -e 's/#.*//' -e 's/[[:space:]]//g' "$1" | grep -v '^$' || true
}
mapfile -t versions < <(read_versions "$versions_file")
((${#versions[@]})) || die "no versions in $versions_file"
extra_file=${MLRUN_MLFLOW_EXTRA_VERSIONS_FILE:-}
if [[ -z $extra_file && -z ${MLRUN_MLFLOW_VERSIONS_FILE:-} ]]; then
	extra_file=$repo/internal/compat/mlflow-extra-versions.txt
fi
extras=()
[[ -z $extra_file ]] || mapfile -t extras < <(read_versions "$extra_file")
for v in "${versions[@]}" "${extras[@]}"; do
	[[ $v =~ ^[0-9A-Za-z.+-]+$ ]] || die "bad version '$v'"
done
command -v "$python" >/dev/null || die "interpreter '$python' not found (set MLRUN_PYTHON)"
mkdir -p "$cache"

# install VERSION REQUIREMENT... installs venv-VERSION (or finds it ready),
# and fails with the log's tail.
install() {
	local v=$1
	shift
	local venv="$cache/venv-$v"
	local marker="$venv/.mlrun-installed"
	# Dependencies are pinned by internal/compat/constraints-<version>.txt (a pip
	# freeze of a working venv), so every run installs the same set. The
	# marker holds the requirements and the constraints' hash; a change
	# reinstalls.
	local constraints="$repo/internal/compat/constraints-$v.txt"
	[[ -r $constraints ]] || die "$v: missing $constraints (pip freeze of a working venv)"
	local want
	want="$* $(sha256sum "$constraints" | cut -c1-16)"
	if [[ $# -eq 1 ]]; then
		want="$1 $(sha256sum "$constraints" | cut -c1-16)" # the pinned venvs' marker, unchanged
	fi
	if [[ -f $marker && $(<"$marker") == "$want" && -x $venv/bin/python ]]; then
		log "$v: ready ($venv)"
		return
	fi
	rm -f "$marker"
	if [[ ! -x $venv/bin/python ]]; then
		log "$v: creating venv $venv"
		"$python" -m venv "$venv" >&2 || die "$v: '$python -m venv $venv' failed"
	fi
	local logfile="$cache/install-$v.log"
	log "$v: pip install $* -c $constraints (log: $logfile)"
	if ! "$venv/bin/python" -m pip install --disable-pip-version-check "$@" -c "$constraints" >"$logfile" 2>&1; then
		tail -n 20 "$logfile" >&2
		die "$v: 'pip install $*' failed; see $logfile"
	fi
	local got
	got=$("$venv/bin/python" -c 'import mlflow; print(mlflow.__version__)' 2>>"$logfile") ||
		die "$v: mlflow does not import after install; see $logfile"
	[[ $got == "$v" ]] || die "$v: installed mlflow reports version '$got'"
	if [[ " $* " == *" psycopg2-binary "* ]]; then
		"$venv/bin/python" -c 'import psycopg2' 2>>"$logfile" ||
			die "$v: psycopg2 does not import after install; see $logfile"
	fi
	if [[ $1 == mlflow==* ]]; then
		# The harness needs the CLI (server, migrate-filestore) and, for the
		# fixtures, pandas (log_table) and Pillow (log_image); all come with mlflow.
		"$venv/bin/python" -c 'import pandas, PIL, numpy' 2>>"$logfile" ||
			die "$v: pandas/Pillow/numpy missing after install; see $logfile"
		[[ -x $venv/bin/mlflow ]] || die "$v: $venv/bin/mlflow missing after install"
	else
		"$venv/bin/python" -c 'import sqlalchemy, alembic, mlflow.store.tracking.sqlalchemy_store' 2>>"$logfile" ||
			die "$v: MLflow's SQL store does not import after install; see $logfile"
	fi
	printf '%s' "$want" >"$marker"
	log "$v: installed"
}

pids=()
for v in "${versions[@]}"; do
	# Extra packages the tests need are installed when the constraints pin
	# them: psycopg2-binary, the PostgreSQL driver of the REST backend's
	# `mlflow server` (reststore's tests run 3.x on PostgreSQL).
	reqs=("mlflow==$v")
	if grep -q '^psycopg2-binary==' "$repo/internal/compat/constraints-$v.txt" 2>/dev/null; then
		reqs+=(psycopg2-binary)
	fi
	install "$v" "${reqs[@]}" &
	pids+=($!)
done
for v in "${extras[@]}"; do
	install "$v" "mlflow-skinny==$v" sqlalchemy alembic &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=1
done
((failed == 0)) || die "some virtualenvs failed to install (see above)"

printf 'export MLRUN_MLFLOW_VENVS=%q\n' "$cache"
printf 'export MLRUN_MLFLOW_VERSIONS="%s"\n' "${versions[*]}"
printf 'export MLRUN_MLFLOW_EXTRA_VERSIONS="%s"\n' "${extras[*]}"
