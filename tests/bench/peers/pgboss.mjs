// pg-boss: N no-op jobs inserted up front, then drained by one process.
// Prints the rate (per second).
//   node pgboss.mjs stock|batch N CONCURRENCY
// stock: CONCURRENCY workers with the defaults (one job per fetch, a fetch
// every 2 s when a worker's last fetch was quick: pg-boss polls, it has no
// wake-up); batch: CONCURRENCY / 4 workers fetching up to 500 jobs each, every 0.5 s.
import PgBoss from "pg-boss";

const [mode, nArg, concArg] = process.argv.slice(2);
const n = Number(nArg), concurrency = Number(concArg);
const host = process.env.PGHOST, database = process.env.PGDATABASE || process.env.USER;
const boss = new PgBoss({ host, port: Number(process.env.PGPORT || 5432), database,
  user: process.env.PGUSER, max: concurrency + 4, supervise: false, schedule: false });
boss.on("error", (e) => console.error(`pg-boss error: ${e.message}`));
await boss.start();
const queue = `noop_${mode}`;
await boss.deleteQueue(queue).catch(() => {});
await boss.createQueue(queue);
const batch = 5000;
for (let i = 0; i < n; i += batch) {
  const m = Math.min(batch, n - i);
  await boss.insert(Array.from({ length: m }, () => ({ name: queue, data: {} })));
}

let done = 0, finish;
const finished = new Promise((r) => (finish = r));
const handler = async (jobs) => { done += jobs.length; if (done >= n) finish(); };
const start = process.hrtime.bigint();
const workers = mode === "batch" ? Math.max(1, concurrency / 4) : concurrency;
const options = mode === "batch" ? { batchSize: 500, pollingIntervalSeconds: 0.5 } : {};
for (let i = 0; i < workers; i++) await boss.work(queue, options, handler);
await finished;
// a job is completed after its handler returns: wait until none is left
for (;;) {
  const c = await boss.getQueueSize(queue, { before: "completed" });
  if (c === 0) break;
  await new Promise((r) => setTimeout(r, 5));
}
const secs = Number(process.hrtime.bigint() - start) / 1e9;
await boss.stop({ graceful: false, wait: true });
console.log(Math.round(n / secs));
