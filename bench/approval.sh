#!/usr/bin/env bash
# Runs the approval benchmark (bench/approval.rs): from the typed code to COMMIT, and
# 200 pending requests polled every 500 ms against one approver pinned to one core.
# Prints PASS/FAIL per goal.
#
#   bench/approval.sh                                   # release pgward, report in target/bench-approval.md
#   PGWARD_BENCH_RUNS=3 PGWARD_BENCH_SECONDS=5 bench/approval.sh   # short run on a busy machine
#
# Needs: PostgreSQL server binaries (initdb, pg_ctl), taskset (util-linux). Builds the
# release binary first; the harness is a dev build (it only waits). ~1 minute once built.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bin pgward
export PGWARD_BIN="${PGWARD_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/release/pgward}"
export PGWARD_BENCH_OUT="${PGWARD_BENCH_OUT:-$PWD/${CARGO_TARGET_DIR:-target}/bench-approval.md}"
exec cargo bench --profile dev --bench approval
