#!/usr/bin/env bash
# Run from the repository root; needs PostgreSQL on 127.0.0.1:5432 (user postgres). See hammer/results/latest.md.
set -e
DB=lw_repro_$RANDOM
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"
DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB LLM_PROVIDER=offline LIVINGWORLD_OFFLINE_LATENCY_MS=300 LIVINGWORLD_ISOLATION=serializable LOG_LEVEL=warn \
  node --import tsx src/cli/main.ts serve --port 38124 > /tmp/repro-ser.log 2>&1 &
PID=$!
for i in $(seq 50); do curl -s 127.0.0.1:38124/healthz >/dev/null && break; sleep 0.3; done
S=$(curl -s -XPOST 127.0.0.1:38124/api/stories -H 'content-type: application/json' -d '{"title":"Repro","setting":"A harbour"}')
ID=$(echo "$S" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).story.id))')
for k in 1 2 3 4 5 6; do
  for j in 1 2 3 4; do curl -s -o /dev/null -w "key K$k: %{http_code}\n" -XPOST 127.0.0.1:38124/api/stories/$ID/turns -H 'content-type: application/json' -H "idempotency-key: K$k" -d '{"choice":2}' & done
  wait
done 2>&1 | sort | uniq -c
grep -o '"msg":"request failed"[^}]*' /tmp/repro-ser.log | head -2; grep -o 'duplicate key[^"]*' /tmp/repro-ser.log | sort | uniq -c
kill $PID; wait $PID 2>/dev/null || true
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $DB WITH (FORCE)"
