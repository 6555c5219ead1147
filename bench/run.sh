#!/usr/bin/env bash
# Runs the 1,000,000-row UPDATE benchmark (bench/update_1m.rs): psql vs pgward on one
# throwaway cluster, median of PGWARD_BENCH_RUNS (default 3) runs each.
#
#   bench/run.sh                      # report on stdout and in target/bench-update_1m.md
#   PGWARD_BENCH_CASES=plain bench/run.sh
#   PGWARD_BENCH_ROWS=100000 PGWARD_BENCH_RUNS=1 bench/run.sh   # quick smoke run
#
# Needs: PostgreSQL server binaries (initdb, pg_ctl) and psql, GNU time
# (/usr/bin/time; apt-get install time). Works as root (the scratch cluster then runs
# as the system user pgward-scratch). Takes ~10-15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x "${GNU_TIME:-/usr/bin/time}" ]; then
    echo "GNU time not found at ${GNU_TIME:-/usr/bin/time}: apt-get install time" >&2
    exit 1
fi
command -v "${PSQL:-psql}" >/dev/null || { echo "psql not found (set PSQL)" >&2; exit 1; }

# cargo bench builds the library, the pgward binary and the bench in the bench profile
# (which inherits release); the bench runs that binary (CARGO_BIN_EXE_pgward).
export PGWARD_BENCH_OUT="${PGWARD_BENCH_OUT:-$PWD/target/bench-update_1m.md}"
exec cargo bench --bench update_1m
