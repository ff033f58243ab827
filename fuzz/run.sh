#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each, one after another, starting from the
# corpus in fuzz/corpus/<target>/ (new finds are added there). Stops with a
# non-zero status at the first crash; the crashing input is left in
# fuzz/artifacts/<target>/.
#
#   fuzz/run.sh 600            # 10 minutes a target
#   SANITIZER=none fuzz/run.sh 60
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). On a stable toolchain
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the nightly flags it needs.
set -euo pipefail
seconds=${1:?usage: fuzz/run.sh SECONDS}
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
# PROJ's process-lifetime caches are not leaks (see lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
sanitizer=${SANITIZER:-address}
# TARGETS="crs_name query" runs some of them.
read -r -a targets <<< "${TARGETS:-layers crs_name rules query formats}"
cargo fuzz build --sanitizer "$sanitizer"
for t in "${targets[@]}"; do
    echo "== $t: ${seconds}s"
    mkdir -p "corpus/$t"
    cargo fuzz run --sanitizer "$sanitizer" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
echo "all targets ran ${seconds}s without a crash"
