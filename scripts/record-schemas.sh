#!/usr/bin/env bash
# Records the SQLite schema of every MLflow release from 2.0.0 on, from the
# releases' own code, into sqlstore/schema (the embedded schemas mlrun creates
# databases from and detects them by) and testdata/sqlschema (the golden
# fingerprints the tests compare mlrun's databases with).
#
#   scripts/record-schemas.sh              every release on the registry >= 2.0.0
#   scripts/record-schemas.sh 2.9.2 3.1.4  only the heads of these releases
#                                          (sql/releases.tsv is still rebuilt
#                                          from every downloaded wheel)
#
# How: pip downloads each release's mlflow-skinny wheel (no dependencies),
# record.py reads the alembic head of every wheel's migrations, and for each
# head the newest release with that head is unpacked and put on PYTHONPATH of a
# virtualenv holding MLflow's dependencies, where record.py starts its tracking
# and registry SqlAlchemyStore on a new sqlite:/// file. The environments are
# tried newest first (a release records in the newest one it runs in, i.e.
# what a fresh `pip install mlflow==X` resolves today where it still works):
# the pinned venv-3.17.2 and venv-2.22.5 of scripts/mlflow-venvs.sh, then
# record-3x (MLflow 3.8's dependencies, SQLAlchemy < 2.1, which MLflow 3.1 to
# 3.8 need) and record-2x (MLflow 2.14's, protobuf < 5 and databricks-cli,
# which MLflow 2.0 to 2.14 need). Last, go test ... -record turns each
# database into sql/mlflow-X.sql, sql/mlflow-X.revisions and
# testdata/sqlschema/mlflow-X.txt, and checks Create against it.
#
# Takes about 3 minutes with the wheels cached (~400 MB in
# $MLRUN_CACHE_DIR/wheels), plus the downloads and the two record venvs the
# first time.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${MLRUN_CACHE_DIR:-$HOME/.cache/mlrun}
python=${MLRUN_PYTHON:-python3}
wheels=$cache/wheels
record=$repo/sqlstore/schema/record.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log() { printf 'record-schemas: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

eval "$("$repo/scripts/mlflow-venvs.sh")"

# record_env NAME REQUIREMENT... creates $cache/NAME with the requirements
# (then uninstalls mlflow-skinny: the release recorded comes from PYTHONPATH).
record_env() {
	local name=$1 venv=$cache/$1
	shift
	local want="$*"
	if [[ -x $venv/bin/python && -f $venv/.mlrun-record && $(<"$venv/.mlrun-record") == "$want" ]]; then
		return
	fi
	log "creating $venv ($want)"
	rm -rf "$venv"
	"$python" -m venv "$venv"
	"$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" >&2
	"$venv/bin/python" -m pip uninstall -q -y mlflow-skinny >&2
	printf '%s' "$want" >"$venv/.mlrun-record"
}
record_env record-3x mlflow-skinny==3.8.1 'sqlalchemy<2.1' alembic
record_env record-2x mlflow-skinny==2.14.3 databricks-cli 'sqlalchemy<2.1' alembic 'protobuf<5'
envs=("$cache/venv-3.17.2" "$cache/venv-2.22.5" "$cache/record-3x" "$cache/record-2x")

# Every release from 2.0.0 on, as the registry lists them.
mkdir -p "$wheels"
pip_index=$("${envs[0]}/bin/python" -m pip index versions mlflow-skinny 2>/dev/null |
	sed -n 's/^Available versions: //p' | tr -d ' ' | tr ',' '\n')
mapfile -t releases < <(grep -E '^([2-9]|[1-9][0-9])\.[0-9]+\.[0-9]+$' <<<"$pip_index" | sort -V)
((${#releases[@]})) || die "pip index versions mlflow-skinny listed nothing"
for v in "${releases[@]}"; do
	compgen -G "$wheels/mlflow_skinny-$v-*.whl" >/dev/null && continue
	log "downloading mlflow-skinny $v"
	"${envs[0]}/bin/python" -m pip download -q --disable-pip-version-check --no-deps \
		-d "$wheels" "mlflow-skinny==$v" >&2 || die "pip download mlflow-skinny==$v failed"
done

"$python" "$record" heads "$wheels" >"$work/heads.tsv"
{
	echo "# MLflow release, its alembic head revision and number of revisions (scripts/record-schemas.sh)"
	cat "$work/heads.tsv"
} >"$repo/sqlstore/schema/sql/releases.tsv"

# The newest release of each head, or of the heads of the releases asked for.
mapfile -t picks < <(awk -F'\t' '{n[$2]=$1} END {for (h in n) print n[h]}' "$work/heads.tsv" | sort -V)
if (($#)); then
	want=()
	for v in "$@"; do
		h=$(awk -F'\t' -v v="$v" '$1==v {print $2}' "$work/heads.tsv")
		[[ -n $h ]] || die "$v is not a release in $wheels"
		want+=("$(awk -F'\t' -v h="$h" '$2==h {n=$1} END {print n}' "$work/heads.tsv")")
	done
	mapfile -t picks < <(printf '%s\n' "${want[@]}" | sort -uV)
fi

for v in "${picks[@]}"; do
	mkdir -p "$work/pkg/$v" "$work/out/$v"
	(cd "$work/pkg/$v" && "$python" -m zipfile -e "$(compgen -G "$wheels/mlflow_skinny-$v-*.whl")" .)
	ok=
	for env in "${envs[@]}"; do
		rm -f "$work/out/$v/mlflow.db"
		if (cd "$work/out/$v" && PYTHONPATH=$work/pkg/$v "$env/bin/python" "$record" create \
			"$work/out/$v/mlflow.db" s3://mlrun-schema-test/artifacts >result.txt 2>stderr.txt); then
			ok=$env
			break
		fi
	done
	[[ -n $ok ]] || { tail -n 5 "$work/out/$v/stderr.txt" >&2; die "MLflow $v runs in none of ${envs[*]}"; }
	"$ok/bin/python" -c 'import sqlalchemy, alembic; print("sqlalchemy %s, alembic %s" % (sqlalchemy.__version__, alembic.__version__))' \
		>"$work/out/$v/env.txt"
	log "$v: recorded in $(basename "$ok") ($(<"$work/out/$v/env.txt"))"
done

cd "$repo"
go test -count=1 ./sqlstore/schema -run '^TestRecordSchemas$' -record "$work/out" -v | grep -E '^(---|===|ok|FAIL|\s+record)' >&2
