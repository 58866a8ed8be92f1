#!/usr/bin/env bash
# Run from the repository root; needs PostgreSQL on 127.0.0.1:5432 (user postgres). See hammer/results/latest.md.
DB=lw_crash_$RANDOM
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"
DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB LLM_PROVIDER=offline LIVINGWORLD_OFFLINE_LATENCY_MS=100 LIVINGWORLD_TURN_RATE_LIMIT=100000 LOG_LEVEL=error \
  node --import tsx --import hammer/repro/trace-pg-errors.mjs src/cli/main.ts serve --port 38125 > /tmp/repro-crash-serve.log 2>&1 &
PID=$!
for i in $(seq 60); do curl -s 127.0.0.1:38125/healthz >/dev/null && break; sleep 0.3; done
node hammer/repro/terminate-backends-load.mjs http://127.0.0.1:38125 $DB
if kill -0 $PID 2>/dev/null; then echo "serve still alive"; kill $PID; else echo "serve DIED"; fi
wait $PID 2>/dev/null
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $DB WITH (FORCE)"
grep -A30 UNHANDLED /tmp/repro-crash-serve.log | head -40
