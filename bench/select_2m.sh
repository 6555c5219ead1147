#!/usr/bin/env bash
# Runs the 2,000,000-row SELECT benchmark (bench/select_2m.rs): psql, psql with
# FETCH_COUNT=1000, and pgward, each writing to a pipe, on one throwaway cluster,
# median of PGWARD_BENCH_RUNS (default 3) runs each.
#
#   bench/select_2m.sh                 # report on stdout and in target/bench-select_2m.md
#   PGWARD_BENCH_ROWS=100000 PGWARD_BENCH_RUNS=1 bench/select_2m.sh   # quick smoke run
#
# Needs: PostgreSQL server binaries (initdb, pg_ctl) and psql, GNU time
# (/usr/bin/time; apt-get install time). Works as root. Takes ~2-3 minutes on 2 cores
# once built.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x "${GNU_TIME:-/usr/bin/time}" ]; then
    echo "GNU time not found at ${GNU_TIME:-/usr/bin/time}: apt-get install time" >&2
    exit 1
fi
command -v "${PSQL:-psql}" >/dev/null || { echo "psql not found (set PSQL)" >&2; exit 1; }

export PGWARD_BENCH_OUT="${PGWARD_BENCH_OUT:-$PWD/target/bench-select_2m.md}"
exec cargo bench --bench select_2m
