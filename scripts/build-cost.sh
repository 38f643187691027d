#!/usr/bin/env bash
# What pymt costs a user's build (issue 11, "Build"), measured side by side.
#
#   scripts/build-cost.sh [--report-only | --check]
#
# In a temporary directory it creates two throwaway crates:
#
#   user-pymt  an empty library depending on `pymt` (this checkout, by path);
#   user-syn   an empty library depending only on `syn`, `quote` and
#              `proc-macro2`, with the dependency lines copied verbatim from
#              pymt-macros/Cargo.toml (same versions, same features);
#   user-syn-pm the same as a proc-macro crate. Cargo builds the
#              dependencies of a proc macro without debuginfo, so this is
#              syn exactly as pymt's build compiles it (user-syn compiles it
#              with debuginfo, which takes longer): a stricter baseline,
#              reported beside the issue's one.
#
# pymt is built without incremental compilation (CARGO_INCREMENTAL=0), as
# cargo builds it for a user who gets it from crates.io; a path dependency
# would otherwise be built incrementally, which is slower from clean.
# Both get the workspace's Cargo.lock (so the same versions of everything);
# `cargo fetch` runs first, untimed, and every timed build is `--offline`.
# It then times a clean `cargo build` (debug, a fresh CARGO_TARGET_DIR each
# time) of each crate, interleaved, BUILD_COST_RUNS times (default 3), and
# prints the medians and the ratios.
#
# Per-function cost: a crate with 100 `#[threaded]` functions and the empty
# `pymt` crate share one warm target directory; the script times
# `cargo check` of each leaf crate (its dependencies already checked),
# interleaved, and prints the difference of the medians.
#
# --report-only (the default, and what CI runs) prints and asserts nothing.
# --check exits with status 1 if the ratio to user-syn (the issue's target)
# is above 1.2 or the 100 functions cost 1 s or more.
set -euo pipefail

mode=report-only
case "${1:-}" in
    "" | --report-only) mode=report-only ;;
    --check) mode=check ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "usage: $0 [--report-only | --check]" >&2
        exit 2
        ;;
esac

runs=${BUILD_COST_RUNS:-3}
max_ratio=1.2
max_per_fn_s=1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cargo=${CARGO:-cargo}
# A user gets pymt from crates.io, and cargo never builds a registry
# dependency incrementally; a path dependency it would (slower from clean).
export CARGO_INCREMENTAL=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pymt-build-cost.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The [dependencies] lines of pymt-macros for syn, quote and proc-macro2.
macro_deps=$(awk '
    /^\[/ { in_deps = ($0 == "[dependencies]") ; next }
    in_deps && /^(syn|quote|proc-macro2)[ \t]*=/ { print }
' "$root/pymt-macros/Cargo.toml")
for dep in syn quote proc-macro2; do
    if ! grep -q "^$dep[ 	]*=" <<<"$macro_deps"; then
        echo "build-cost: no '$dep = ...' line in pymt-macros/Cargo.toml [dependencies]" >&2
        exit 2
    fi
done

new_crate() { # name, dependency lines, lib.rs contents[, extra manifest lines]
    mkdir -p "$tmp/$1/src"
    cat >"$tmp/$1/Cargo.toml" <<EOF
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false
${4:-}

[dependencies]
$2

# Not part of any enclosing workspace.
[workspace]
EOF
    printf '%s\n' "$3" >"$tmp/$1/src/lib.rs"
    cp "$root/Cargo.lock" "$tmp/$1/Cargo.lock"
}

pymt_dep="pymt = { path = \"$root\" }"
new_crate user-pymt "$pymt_dep" "//! Empty: what depending on pymt costs."
new_crate user-syn "$macro_deps" "//! Empty: what depending on syn, quote and proc-macro2 costs."
new_crate user-syn-pm "$macro_deps" "//! Empty: syn, quote and proc-macro2 as a proc macro builds them." \
    "$(printf '[lib]\nproc-macro = true')"
{
    echo "//! 100 #[threaded] functions, in the forms a user writes."
    echo "#![allow(dead_code)]"
    for i in $(seq 0 99); do
        case $((i % 4)) in
            0) echo "#[pymt::threaded] fn f$i(a: u32, b: u32) -> u32 { a + b }" ;;
            1) echo "#[pymt::threaded(pool_name = \"io\", max_workers = 2)] fn f$i(s: String) -> usize { s.len() }" ;;
            2) echo "#[pymt::threaded(daemon, name = \"d$i\")] fn f$i(v: Vec<u8>) { drop(v) }" ;;
            3) echo "#[pymt::limiter(4)] #[pymt::threaded(pool, priority = 3)] fn f$i<T: Send + 'static>(t: T) -> T { t }" ;;
        esac
    done
} >"$tmp/fns.rs"
new_crate user-fns "$pymt_dep" "$(cat "$tmp/fns.rs")"

echo "build-cost: fetching (untimed)" >&2
for crate in user-pymt user-syn user-syn-pm user-fns; do
    (cd "$tmp/$crate" && "$cargo" fetch --quiet)
done

now() { date +%s.%N; }
elapsed() { # command... ; prints seconds
    local start end
    start=$(now)
    "$@" >"$tmp/last.log" 2>&1 || {
        cat "$tmp/last.log" >&2
        echo "build-cost: failed: $*" >&2
        exit 2
    }
    end=$(now)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }'
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

clean_build() { # crate, run: a clean debug build in a fresh target dir
    local target="$tmp/target-$1-$2"
    rm -rf "$target"
    (cd "$tmp/$1" && elapsed env CARGO_TARGET_DIR="$target" "$cargo" build --offline)
    rm -rf "$target"
}

declare -A times
crates=(user-pymt user-syn user-syn-pm)
for run in $(seq 1 "$runs"); do
    # Rotate which goes first, so none always gets the warmer cache.
    line="build-cost: run $run/$runs:"
    for k in 0 1 2; do
        crate=${crates[$(((run + k) % 3))]}
        t=$(clean_build "$crate" "$run")
        times[$crate]+=" $t"
        line+=" $crate $t s"
    done
    echo "$line" >&2
done
pymt_times=${times[user-pymt]}
syn_times=${times[user-syn]}
pm_times=${times[user-syn-pm]}
pymt_median=$(median <<<"$pymt_times")
syn_median=$(median <<<"$syn_times")
pm_median=$(median <<<"$pm_times")
ratio=$(awk -v a="$pymt_median" -v b="$syn_median" 'BEGIN { printf "%.2f", a / b }')
pm_ratio=$(awk -v a="$pymt_median" -v b="$pm_median" 'BEGIN { printf "%.2f", a / b }')

# Per-function cost: the leaf crates' `cargo check`, dependencies warm.
shared="$tmp/target-check"
for crate in user-pymt user-fns; do
    (cd "$tmp/$crate" && CARGO_TARGET_DIR="$shared" "$cargo" check --offline --quiet)
done
check_leaf() { # crate
    touch "$tmp/$1/src/lib.rs"
    (cd "$tmp/$1" && elapsed env CARGO_TARGET_DIR="$shared" "$cargo" check --offline)
}
empty_times=""
fns_times=""
for run in $(seq 1 "$runs"); do
    empty_times+=" $(check_leaf user-pymt)"
    fns_times+=" $(check_leaf user-fns)"
done
empty_median=$(median <<<"$empty_times")
fns_median=$(median <<<"$fns_times")
per_fn=$(awk -v a="$fns_median" -v b="$empty_median" 'BEGIN { printf "%.2f", a - b }')
rustc_version=$(rustc --version)
cat <<EOF
## Build cost

\`scripts/build-cost.sh\` (issue 11): clean debug \`cargo build\` of an empty
library crate, each in a fresh target directory, the three crates interleaved,
$runs run(s), medians. The syn-only crate depends on \`syn\`, \`quote\` and
\`proc-macro2\` with the lines of \`pymt-macros/Cargo.toml\`:

\`\`\`toml
$macro_deps
\`\`\`

All use the workspace's Cargo.lock; \`CARGO_INCREMENTAL=0\` builds the
path dependency \`pymt\` as cargo builds a crates.io dependency. $rustc_version, $(nproc) cores.

| crate | runs (s) | median |
|---|---|---:|
| empty, depends on \`pymt\` (default features) | $(echo $pymt_times) | $pymt_median s |
| empty, depends on \`syn\` + \`quote\` + \`proc-macro2\` | $(echo $syn_times) | $syn_median s |
| the same as a \`proc-macro\` crate | $(echo $pm_times) | $pm_median s |
| **pymt / syn-only** (issue 11's target: ≤ $max_ratio) | | **${ratio}x** |
| pymt / syn-only proc macro (like for like) | | ${pm_ratio}x |

Cargo builds a proc macro's dependencies without debuginfo: in the pymt
crate's build, syn is compiled that way (for pymt-macros), while the
syn-only library compiles it with debuginfo, which takes longer. The
proc-macro row compiles syn exactly as pymt's build does; its ratio is the
stricter one.

100 \`#[threaded]\` functions (bare, \`pool_name\`, \`daemon\`, \`pool\` under
\`#[limiter]\`), \`cargo check\` of the leaf crate with its dependencies
already checked, minus the same for the empty crate:

| crate | runs (s) | median |
|---|---|---:|
| empty, depends on \`pymt\` | $(echo $empty_times) | $empty_median s |
| 100 \`#[threaded]\` fns | $(echo $fns_times) | $fns_median s |
| **cost of the 100 fns** (target < $max_per_fn_s s) | | **$per_fn s** |
EOF

if [[ $mode == check ]]; then
    failed=0
    if awk -v r="$ratio" -v m="$max_ratio" 'BEGIN { exit !(r > m) }'; then
        echo "build-cost: FAIL: ratio ${ratio}x > ${max_ratio}x" >&2
        failed=1
    fi
    if awk -v c="$per_fn" -v m="$max_per_fn_s" 'BEGIN { exit !(c >= m) }'; then
        echo "build-cost: FAIL: 100 #[threaded] fns cost $per_fn s >= $max_per_fn_s s" >&2
        failed=1
    fi
    exit "$failed"
fi
