#!/usr/bin/env bash
# Runs the completion benchmark (bench/complete.rs): 10,000 tables of 20 columns on a
# throwaway cluster, each completion timed; prints PASS when every answer is under 50 ms.
#
#   bench/complete.sh                                  # report on stdout and in target/bench-complete.md
#   PGWARD_BENCH_TABLES=1000 bench/complete.sh         # quick smoke run
#
# Needs PostgreSQL server binaries (initdb, pg_ctl). Works as root (the scratch cluster
# then runs as the system user pgward-scratch). Creating the tables takes a minute or two.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGWARD_BENCH_OUT="${PGWARD_BENCH_OUT:-$PWD/target/bench-complete.md}"
exec cargo bench --bench complete
