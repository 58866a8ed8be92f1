#!/usr/bin/env bash
# Run from the repository root; needs PostgreSQL on 127.0.0.1:5432 (user postgres). See hammer/results/latest.md.
set -e
DB=lw_repro_$RANDOM
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"
DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB LLM_PROVIDER=offline LIVINGWORLD_OFFLINE_LATENCY_MS=1500 LOG_LEVEL=warn \
  node --import tsx src/cli/main.ts serve --port 38123 > /tmp/repro-serve.log 2>&1 &
PID=$!
for i in $(seq 50); do curl -s 127.0.0.1:38123/healthz >/dev/null && break; sleep 0.3; done
S=$(curl -s -XPOST 127.0.0.1:38123/api/stories -H 'content-type: application/json' -d '{"title":"Repro","setting":"A harbour"}')
ID=$(echo "$S" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).story.id))')
curl -s -XPOST 127.0.0.1:38123/api/stories/$ID/turns -H 'content-type: application/json' -d '{"choice":1}' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s);console.log("A (no key):", b.how, b.scene.id)})' &
sleep 0.3
curl -s -XPOST 127.0.0.1:38123/api/stories/$ID/turns -H 'content-type: application/json' -H 'idempotency-key: K1' -d '{"choice":1}' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s);console.log("B (key K1):", b.how, b.scene.id)})'
wait %2 2>/dev/null || true
sleep 0.5
curl -s -XPOST 127.0.0.1:38123/api/stories/$ID/turns -H 'content-type: application/json' -H 'idempotency-key: K1' -d '{"choice":1}' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s);console.log("C (retry of B, key K1):", b.how ?? "", b.scene?.id ?? s)})'
psql -h 127.0.0.1 -U postgres -d $DB -Atc "SELECT kind, status, idempotency_key, scene_id FROM turns ORDER BY created_at"
kill $PID; wait $PID 2>/dev/null || true
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $DB WITH (FORCE)"
