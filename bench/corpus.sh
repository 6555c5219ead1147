#!/usr/bin/env bash
# Runs the classifier over every .sql file under DIR (bench/corpus.rs) and prints the
# issue-6 goals with PASS/FAIL lines: no write classified as a read, >= 99.5% of reads and
# writes classified, >= 99% of schema DDL classified as DDL with its lock level, every
# refusal naming a rule, and the speed. Release build.
#
#   bench/corpus.sh DIR                   # figures only (seconds)
#   bench/corpus.sh DIR --oracle          # also run every read in READ ONLY on a scratch
#                                         # cluster (SQLSTATE 25006 = a write); minutes
#   bench/corpus.sh DIR --dump out.tsv    # one line per statement, for looking into it
#
# DIR is, for example, PostgreSQL's regression SQL (src/test/regress/sql of REL_15 or
# later; see docs/benchmarks.md for how it was obtained). Nothing is downloaded here.
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: bench/corpus.sh DIR [--oracle] [--dump FILE]" >&2
    exit 2
fi
dir=$(cd "$1" && pwd)
shift
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dump) args+=("$1" "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"); shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
cd "$(dirname "$0")/.."
exec cargo bench --bench corpus -- "$dir" "${args[@]}"
