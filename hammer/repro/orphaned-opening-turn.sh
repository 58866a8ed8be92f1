#!/usr/bin/env bash
# Run from the repository root; needs PostgreSQL on 127.0.0.1:5432 (user postgres). See hammer/results/latest.md.
DB=lw_repro_$RANDOM
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"
ENV="DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB LLM_PROVIDER=offline LIVINGWORLD_OFFLINE_LATENCY_MS=8000 LIVINGWORLD_TURN_LEASE_MS=2000 LOG_LEVEL=warn"
env $ENV node --import tsx src/cli/main.ts serve --port 38126 > /tmp/repro-open.log 2>&1 &
PID=$!
for i in $(seq 60); do curl -s 127.0.0.1:38126/healthz >/dev/null && break; sleep 0.3; done
curl -s -m 20 -XPOST 127.0.0.1:38126/api/stories -H 'content-type: application/json' -d '{"title":"Orphan","setting":"A harbour"}' &
sleep 2; kill -9 $PID; sleep 1
env $ENV node --import tsx src/cli/main.ts serve --port 38126 >> /tmp/repro-open.log 2>&1 &
PID=$!
for i in $(seq 60); do curl -s 127.0.0.1:38126/healthz >/dev/null && break; sleep 0.3; done
sleep 3
ID=$(psql -h 127.0.0.1 -U postgres -d $DB -Atc "SELECT id FROM stories")
echo "GET story:"; curl -s 127.0.0.1:38126/api/stories/$ID | cut -c1-200; echo
echo "POST turns:"; curl -s -XPOST 127.0.0.1:38126/api/stories/$ID/turns -H 'content-type: application/json' -d '{"choice":1}'; echo
psql -h 127.0.0.1 -U postgres -d $DB -Atc "SELECT kind, status, lease_expires_at < now() AS lease_expired FROM turns"
kill $PID; wait $PID 2>/dev/null
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $DB WITH (FORCE)"
