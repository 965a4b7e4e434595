#!/usr/bin/env bash
# Runs Deno for the tasks of deno.json: the pinned binary from npm when it is
# installed, otherwise the one on PATH. (`deno task` would take
# node_modules/.bin/deno for an npm script and fail to load the binary.)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "$root/node_modules/deno/deno" ]; then
  exec "$root/node_modules/deno/deno" "$@"
fi
exec deno "$@"
