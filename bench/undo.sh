#!/usr/bin/env bash
# Runs the undo and ledger benchmark (bench/undo.rs): peak RSS of a 1,000,000-row UPDATE
# committed with its undo generated and stored (beside the same UPDATE rolled back), and
# what the ledger insert adds to a COMMIT. Prints PASS/FAIL per goal.
#
#   bench/undo.sh                                            # release pgward, report in target/bench-undo.md
#   PGWARD_BENCH_ROWS=200000 PGWARD_BENCH_RUNS=7 bench/undo.sh   # short run on a busy machine
#
# Needs: PostgreSQL server binaries (initdb, pg_ctl), GNU time (/usr/bin/time; apt-get
# install time). Builds the release binary first; the harness is a dev build (it only
# waits). A few minutes once built (most of it loading and updating the rows).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bin pgward
export PGWARD_BIN="${PGWARD_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/release/pgward}"
export PGWARD_BENCH_OUT="${PGWARD_BENCH_OUT:-$PWD/${CARGO_TARGET_DIR:-target}/bench-undo.md}"
exec cargo bench --profile dev --bench undo
