#!/usr/bin/env bash
# peer-server (grpc-swift-2) vs person-server, alternated A B A B A B.
set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
N=${N:-300000}; ROUNDS=${ROUNDS:-3}
OUT=/tmp/ab-runs; mkdir -p $OUT
declare -A CMD=(
  [peer]="$ROOT/Benchmarks/.build/release/peer-server --port 0"
  [person]="$ROOT/.build-release/release/person-server --host 127.0.0.1 --port 0 --workers 1 --log-level warning"
)
declare -A PID PORT
for s in peer person; do
  taskset -c 0 ${CMD[$s]} > $OUT/$s.log 2>&1 & PID[$s]=$!
  for _ in $(seq 100); do grep -q 'listening on' $OUT/$s.log && break; sleep 0.1; done
  PORT[$s]=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' $OUT/$s.log | head -1)
  echo "started $s pid=${PID[$s]} port=${PORT[$s]}"
done
echo "${PID[peer]} ${PID[person]}" > $OUT/pids
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
run() {
  local s=$1 n=$2 f=$3 t0 t1 s0 s1
  t0=$(ticks ${PID[$s]}); s0=$(date +%s.%N)
  taskset -c 1 h2load -n $n -c 4 -m 100 -d /tmp/getinfor.bin -H 'content-type: application/grpc' -H 'te: trailers' \
    http://127.0.0.1:${PORT[$s]}/AsillaService/getInfor > $f 2>&1
  t1=$(ticks ${PID[$s]}); s1=$(date +%s.%N)
  local rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' $f)
  echo "$s $(basename $f .txt) rps=$rps cpu=$(echo "scale=2;($t1-$t0)/100" | bc)s wall=$(echo "scale=2;$s1-$s0" | bc)s | $(grep '^requests:' $f) | $(grep '^status codes:' $f)"
}
for s in peer person; do run $s 20000 $OUT/warm-$s.txt; done
for r in $(seq $ROUNDS); do for s in peer person; do run $s $N $OUT/$s-$r.txt; done; done
for s in peer person; do
  printf "%s median: " $s; for r in $(seq $ROUNDS); do sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' $OUT/$s-$r.txt; done | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'
done
kill ${PID[peer]} ${PID[person]}; wait 2>/dev/null; echo stopped
