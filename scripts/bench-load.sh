#!/usr/bin/env bash
# The load run of `make bench`: for each rate, a fresh `knshop dev` on the
# embedded defaults (or on MYSQL_DSN when set) and `knshop load` against it;
# the results replace the table between the load markers of
# docs/benchmarks.md. RATES and DURATION override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
rates="${RATES:-2 10 50 100}"
duration="${DURATION:-30s}"
port="${BENCH_PORT:-18181}"
go build -o .build/knshop ./cmd/knshop
work="$(mktemp -d /tmp/knshop-bench.XXXXXX)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

rows=""
for rate in $rates; do
	data="$work/data-$rate"
	.build/knshop dev --data "$data" --addr "127.0.0.1:$port" --broker-addr 127.0.0.1:0 --kafka-addr 127.0.0.1:0 \
		--mongo-addr 127.0.0.1:0 --mysql-addr 127.0.0.1:0 >"$work/dev-$rate.log" 2>&1 &
	pid=$!
	for _ in $(seq 120); do grep -q "knshop is up" "$work/dev-$rate.log" && break; sleep 0.5; done
	load="$(uptime | sed 's/.*load average: //')"
	out="$(.build/knshop load --api "http://127.0.0.1:$port" --rate "$rate" --duration "$duration" 2>&1 || true)"
	echo "$out" >&2
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
	field() { echo "$out" | sed -n "s/^$1: *//p"; }
	rows+="| $rate | $(field accepted) | $(field 'POST latency') | $(field 'POST→PAID') | $(field terminal) | $(field stock) | $load |"$'\n'
done

table="| offered orders/s | accepted | POST latency | POST→PAID | terminal states | stock | load average before |
|---|---|---|---|---|---|---|
$rows"
echo "$table"
doc=docs/benchmarks.md
if grep -q '<!-- load:begin -->' "$doc"; then
	awk -v table="$table" '
		/<!-- load:begin -->/ { print; print "Measured $(date -u +%F) with DURATION='"$duration"'"; print ""; print table; skip=1; next }
		/<!-- load:end -->/ { skip=0 }
		!skip' "$doc" | sed "s/\$(date -u +%F)/$(date -u +%F)/" >"$doc.tmp" && mv "$doc.tmp" "$doc"
fi
