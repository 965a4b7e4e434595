#!/usr/bin/env bash
# Runs the whole test suite under Deno and under Bun, then prints one line
# "N passed, N failed" for both runs together. Exits non-zero if either fails.
# Extra arguments are passed as test paths (default: tests/).
set -u
cd "$(dirname "$0")/.."
export NO_COLOR=1
bin=node_modules/.bin
paths=("$@")
[ ${#paths[@]} -eq 0 ] && paths=(tests/)
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

echo "== deno test"
# --expose-gc: the heap-bound tests collect garbage before they measure (Bun always can).
"$bin/deno" test -A --no-prompt --v8-flags=--expose-gc "${paths[@]}" 2>&1 | tee "$log_dir/deno.log"
deno_rc=${PIPESTATUS[0]}

echo "== bun test"
"$bin/bun" test --timeout 120000 "${paths[@]}" 2>&1 | tee "$log_dir/bun.log"
bun_rc=${PIPESTATUS[0]}

# deno: "ok | 12 passed | 0 failed" or "FAILED | 11 passed | 1 failed"
deno_pass=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log_dir/deno.log" | tail -1 | sed -E 's/.*\| ([0-9]+) passed.*/\1/')
deno_fail=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log_dir/deno.log" | tail -1 | sed -E 's/.*\| ([0-9]+) failed.*/\1/')
# bun: " 12 pass" / " 0 fail"
bun_pass=$(grep -E '^ *[0-9]+ pass$' "$log_dir/bun.log" | tail -1 | tr -dc '0-9')
bun_fail=$(grep -E '^ *[0-9]+ fail$' "$log_dir/bun.log" | tail -1 | tr -dc '0-9')
deno_pass=${deno_pass:-0}; deno_fail=${deno_fail:-0}; bun_pass=${bun_pass:-0}; bun_fail=${bun_fail:-0}
# A runner that crashed before summarising counts as one failure.
[ "$deno_rc" -ne 0 ] && [ "$deno_fail" -eq 0 ] && deno_fail=1
[ "$bun_rc" -ne 0 ] && [ "$bun_fail" -eq 0 ] && bun_fail=1

echo "deno: $deno_pass passed, $deno_fail failed (exit $deno_rc)"
echo "bun: $bun_pass passed, $bun_fail failed (exit $bun_rc)"
echo "$((deno_pass + bun_pass)) passed, $((deno_fail + bun_fail)) failed"
[ "$deno_rc" -eq 0 ] && [ "$bun_rc" -eq 0 ] && [ "$((deno_pass + bun_pass))" -gt 0 ]
