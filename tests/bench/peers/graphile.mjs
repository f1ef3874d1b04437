// graphile-worker: N no-op jobs added up front, then drained by one worker
// process. Prints the rate (per second).
//   node graphile.mjs stock|batch N CONCURRENCY
// stock: the defaults (a job fetched and completed per round trip);
// batch: the documented throughput settings (a local queue that locks jobs
// in batches, completions batched).
import pg from "pg";
import { run, makeWorkerUtils, Logger } from "graphile-worker";

const [mode, nArg, concArg] = process.argv.slice(2);
const n = Number(nArg), concurrency = Number(concArg);
const pgPool = new pg.Pool({ max: concurrency + 4 });
pgPool.on("error", (e) => console.error(`graphile-worker pool: ${e.message}`));
pgPool.on("connect", (c) => c.on("error", (e) => console.error(`graphile-worker client: ${e.message}`)));
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`graphile-worker ${level}: ${message}`);
});

const utils = await makeWorkerUtils({ pgPool, logger });
await utils.migrate();
await pgPool.query("DELETE FROM graphile_worker._private_jobs");
const batch = 5000;
for (let i = 0; i < n; i += batch) {
  const m = Math.min(batch, n - i);
  await utils.addJobs(Array.from({ length: m }, () => ({ identifier: "noop", payload: {} })));
}

const preset = mode === "batch"
  ? { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 5, failJobBatchDelay: 5 } }
  : {};
let done = 0, finish;
const finished = new Promise((r) => (finish = r));
const start = process.hrtime.bigint();
const runner = await run({
  pgPool, logger, concurrency, noHandleSignals: true, pollInterval: 1000, preset,
  taskList: { noop: async () => { if (++done === n) finish(); } },
});
await finished;
// a completion is written after the task returns: wait until none is left
for (;;) {
  const { rows } = await pgPool.query("SELECT count(*)::int AS c FROM graphile_worker._private_jobs");
  if (rows[0].c === 0) break;
  await new Promise((r) => setTimeout(r, 5));
}
const secs = Number(process.hrtime.bigint() - start) / 1e9;
await runner.stop();
await utils.release();
await pgPool.end();
console.log(Math.round(n / secs));
