#!/usr/bin/env bash
# Side-by-side unary throughput: person-server vs raw NIO HTTP/2 servers.
set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# Build first: (cd $ROOT/Benchmarks && swift build -c release) and
# (cd $ROOT && swift build -c release --package-path Examples/person --product person-server --scratch-path .build-release);
# body: python3 -c "import sys; p=b'\x0a\x05trung'; sys.stdout.buffer.write(b'\x00'+len(p).to_bytes(4,'big')+p)" > /tmp/getinfor.bin
OUT=${OUT:-/tmp/spike-runs}
mkdir -p "$OUT"
BODY=/tmp/getinfor.bin
declare -A CMD=(
  [person]="$ROOT/.build-release/release/person-server --host 127.0.0.1 --port 0 --workers 1 --log-level warning"
  [child]="$ROOT/Benchmarks/.build/release/raw-child-server --port 0"
  [frame]="$ROOT/Benchmarks/.build/release/raw-frame-server --port 0"
)
ORDER=(person child frame)
declare -A PID PORT

ticks() { awk '{print $14+$15}' /proc/$1/stat; }   # utime+stime, clock ticks
HZ=$(getconf CLK_TCK)

start() {
  local name=$1
  taskset -c 0 ${CMD[$name]} > "$OUT/$name.server.log" 2>&1 &
  PID[$name]=$!
  for _ in $(seq 100); do
    grep -q 'listening on' "$OUT/$name.server.log" && break; sleep 0.1
  done
  PORT[$name]=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$OUT/$name.server.log" | head -1)
  echo "started $name pid=${PID[$name]} port=${PORT[$name]}"
}

run() {  # name n label
  local name=$1 n=$2 label=$3 f="$OUT/$3.txt"
  local t0; t0=$(ticks ${PID[$name]}); local s0; s0=$(awk '/^cpu0 /{print $9}' /proc/stat)
  taskset -c 1 h2load -n "$n" -c 4 -m 100 -d $BODY -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:${PORT[$name]}/AsillaService/getInfor" > "$f" 2>&1
  local t1; t1=$(ticks ${PID[$name]}); local s1; s1=$(awk '/^cpu0 /{print $9}' /proc/stat)
  local rps; rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$f")
  local req; req=$(grep '^requests:' "$f")
  local st; st=$(grep '^status codes:' "$f")
  local cpu; cpu=$(awk -v a=$t0 -v b=$t1 -v hz=$HZ 'BEGIN{printf "%.2f", (b-a)/hz}')
  local cput; cput=$(ps -o cputime= -p ${PID[$name]} | tr -d ' ')
  echo "$label server=$name rps=$rps cpu_s=$cpu cpu0_steal_s=$(awk -v a=$s0 -v b=$s1 -v hz=$HZ 'BEGIN{printf "%.2f",(b-a)/hz}') threads=$(ls /proc/${PID[$name]}/task | wc -l) cputime_total=$cput | $req | $st"
}

for s in "${ORDER[@]}"; do start $s; done
for s in "${ORDER[@]}"; do run $s 20000 "warmup-$s"; done
for r in 1 2 3; do
  for s in "${ORDER[@]}"; do run $s 300000 "round$r-$s"; done
done
for s in "${ORDER[@]}"; do kill ${PID[$s]}; done
wait
