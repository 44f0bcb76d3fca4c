#!/usr/bin/env bash
# The HTTP benchmark: a release boxd side by side with the reference servers of the shared
# harness (bare axum, axum + sqlx, Node/Express), interleaved rounds, medians and ratios.
# The harness lives outside this repository: ../shared/bench, or BOXD_BENCH_DIR. It needs wrk,
# curl, python3 and Node.js 20. Knobs (ROUNDS, DURATION, CONNS, ...) pass through to it.
# The last line printed is the summary (profile_rps_ratio_vs_authdb=… boxd_rss_mb=… …).
set -euo pipefail
cd "$(dirname "$0")/.."
bench_dir=${BOXD_BENCH_DIR:-../shared/bench}
if [[ ! -x $bench_dir/run.sh ]]; then
  echo "bench.sh: no harness at $bench_dir/run.sh (set BOXD_BENCH_DIR)" >&2
  exit 2
fi
cargo build --release --locked
exec "$bench_dir/run.sh" target/release/boxd
