// DBOS Transact: N three-step workflows (each step a no-op) in one process,
// its system database on the bench cluster. Prints the rate (per second).
//   node dbos.mjs direct|queue N CONCURRENCY
// direct: every workflow started at once with DBOS.startWorkflow (DBOS runs
// them in this process, each step checkpointed); queue: enqueued on a DBOS
// queue of worker concurrency CONCURRENCY (the durable way to run a backlog).
// DBOS has no batched mode: each step is its own checkpoint.
import { DBOS } from "@dbos-inc/dbos-sdk";

const [mode, nArg, concArg] = process.argv.slice(2);
const n = Number(nArg), concurrency = Number(concArg);
const { PGHOST, PGPORT = "5432", PGUSER = process.env.USER } = process.env;
const db = process.env.DBOS_DATABASE || "dbos_bench";
DBOS.setConfig({
  name: "durable-bench",
  systemDatabaseUrl: `postgresql://${PGUSER}@localhost:${PGPORT}/${db}?host=${encodeURIComponent(PGHOST)}`,
  systemDatabasePoolSize: concurrency + 4,
  logLevel: "error",
  runAdminServer: false,
});
const noop = async (x) => x;
const three = DBOS.registerWorkflow(async (x) => {
  let r = x;
  for (let i = 0; i < 3; i++) r = await DBOS.runStep(() => noop(r), { name: `step${i}` });
  return r;
}, { name: "three" });
await DBOS.launch();
const queue = mode === "queue"
  ? (await DBOS.retrieveQueue("bench")) ?? (await DBOS.registerQueue("bench", { workerConcurrency: concurrency }))
  : null;

const start = process.hrtime.bigint();
const handles = [];
for (let i = 0; i < n; i++)
  handles.push(await DBOS.startWorkflow(three, queue ? { queueName: queue.name } : {})(i));
await Promise.all(handles.map((h) => h.getResult()));
const secs = Number(process.hrtime.bigint() - start) / 1e9;
await DBOS.shutdown();
console.log(Math.round(n / secs));
