#!/usr/bin/env bash
# Runs the `pgward check` benchmark (bench/check.rs): 50,000 statements through the
# library and through the binary, with the classifier's goals on our corpus. Seconds.
#
#   bench/check.sh
#   PGWARD_BENCH_STATEMENTS=200000 bench/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench check
