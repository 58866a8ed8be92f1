// Load on one serve process while its backends are terminated every 250 ms, for 60 s.
import pg from 'pg';
const [url, db] = process.argv.slice(2);
const admin = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres', max: 2 });
const post = (path, body) => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30000) }).then(r => r.json()).catch(e => ({ transport: String(e.cause ?? e) }));
const stories = [];
for (let i = 0; i < 5; i++) stories.push((await post('/api/stories', { title: 'crash ' + i, setting: 'fog' })).story.id);
const end = Date.now() + 60000;
let lost = 0;
const killer = (async () => { while (Date.now() < end) { await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=$1 AND application_name='livingworld-serve'`, [db]); await new Promise(r => setTimeout(r, 250)); } })();
await Promise.all(Array.from({ length: 20 }, async (_, c) => { while (Date.now() < end) { const r = await post(`/api/stories/${stories[c % 5]}/turns`, { choice: 1 + (c % 3) }); if (r.transport) { lost++; if (lost === 1) console.log('first transport failure', r.transport, new Date().toISOString()); await new Promise(r => setTimeout(r, 500)); } } }));
await killer; await admin.end();
console.log('transport failures', lost);
