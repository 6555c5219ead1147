#!/usr/bin/env bash
# pgward against psql in one run (bench/output.rs): `-c 'select 1'`, 100,000 rows to a
# pipe (aligned and --csv), launch to prompt. Builds a release pgward first.
#
#   bench/output.sh                                   # report on stdout, PASS/FAIL lines last
#   PGWARD_BENCH_RUNS=3 PGWARD_BENCH_ROWS=20000 bench/output.sh   # a quicker run
set -euo pipefail
cd "$(dirname "$0")/.."
command -v "${PSQL:-psql}" >/dev/null || { echo "psql not found (set PSQL)" >&2; exit 1; }
cargo build --release --locked --bin pgward
export PGWARD_BIN="${PGWARD_BIN:-$PWD/target/release/pgward}"
export PGWARD_BENCH_OUT="${PGWARD_BENCH_OUT:-$PWD/target/bench-output.md}"
exec cargo bench --profile dev --bench output
