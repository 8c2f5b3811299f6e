// `node --import tsx bench/spans-explain.ts`: the run page's span queries on a full retention window —
// 10,000,000 spans (BENCH_EXPLAIN_SPANS) over 14 daily partitions, traces of 10–30 spans, one daily-refresh
// run span per trace — with EXPLAIN (ANALYZE, BUFFERS). In a scratch database, dropped at the end.
import { commandLine } from "../apps/command-line.ts";
import { traceIdOfJob, traceSpans } from "../db/repos/dashboard-ops.ts";
import { benchEnv } from "./env.ts";

const SPANS = Number(process.env.BENCH_EXPLAIN_SPANS ?? 10_000_000);
const DAYS = 14;
commandLine("bench:spans-explain", `Usage: node --import tsx bench/spans-explain.ts\n\nEXPLAIN (ANALYZE, BUFFERS) of traceSpans and traceIdOfJob over ${SPANS} spans in ${DAYS} daily partitions (BENCH_EXPLAIN_SPANS).\n`);

// Trace t (0-based) has 10 + t % 21 spans (20 on average); span 0 is its root, the run job's span
// ("flow run", job.id run.<t>), the others stage jobs under it. Traces are spread evenly over the window.
const FILL = `
INSERT INTO observability.spans (trace_id, span_id, parent_span_id, name, service, kind, start_time, end_time, duration_ms, status_code, attributes)
SELECT md5('t' || t), left(md5('s' || t || '.' || i), 16), CASE WHEN i > 0 THEN left(md5('s' || t || '.0'), 16) END,
       CASE WHEN i = 0 THEN 'flow run' ELSE 'stage ' || (ARRAY['ema', 'rsi', 'features', 'quality'])[1 + i % 4] END,
       'worker', 'CONSUMER', ts + i * interval '40 ms', ts + i * interval '40 ms' + interval '35 ms', 35, 'OK',
       CASE WHEN i = 0 THEN jsonb_build_object('queue', 'flow', 'job.name', 'run', 'job.id', 'run.' || t, 'attempt', 1, 'job.outcome', 'completed')
            ELSE jsonb_build_object('queue', 'stage', 'job.name', 'ema', 'job.id', 'stage.' || t || '.' || i, 'attempt', 1, 'asset', 'BTC-USD',
                                    'run.id', t::text, 'job.outcome', 'completed') END
FROM (SELECT t, now() - make_interval(secs => ($3 - t)::float8 / $3 * $4 * 86400) AS ts FROM generate_series($1::int, $2::int) t) tr,
     generate_series(0, 9 + tr.t % 21) i`;

const env = await benchEnv("spans_explain");
try {
  await env.pool.query("SELECT observability.create_span_partition((now() AT TIME ZONE 'UTC')::date - d) FROM generate_series(1, $1::int) d", [DAYS]);
  const traces = Math.round(SPANS / 20);
  const t0 = performance.now();
  for (let t = 0; t < traces; t += 25_000) await env.pool.query(FILL, [t, Math.min(traces, t + 25_000) - 1, traces, DAYS - 0.01]);
  await env.pool.query("VACUUM ANALYZE observability.spans");
  const { rows } = await env.pool.query<{ n: string; parts: string; bytes: string }>(
    `SELECT (SELECT count(*) FROM observability.spans) AS n,
            (SELECT count(*) FROM pg_inherits WHERE inhparent = 'observability.spans'::regclass) AS parts,
            pg_size_pretty((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'observability.spans'::regclass)) AS bytes`,
  );
  console.log(`filled ${rows[0]!.n} spans into ${rows[0]!.parts} partitions (${rows[0]!.bytes}) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  // A run from the middle of the window: neither the newest nor the oldest partition. The repository's own
  // functions run, on a session that sends each statement's plan back as a notice (auto_explain).
  const t = Math.floor(traces / 2);
  const client = await env.pool.connect();
  try {
    const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      const ms: number[] = [];
      let out!: T;
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        out = await fn();
        ms.push(performance.now() - start);
      }
      console.log(`${what}: ${ms.map((x) => x.toFixed(1)).join(", ")} ms (5 calls)`);
      return out;
    };
    const traceId = await timed(`traceIdOfJob(run.${t})`, () => traceIdOfJob(client, "flow run", `run.${t}`));
    const spans = await timed(`traceSpans(${traceId})`, () => traceSpans(client, traceId!, 2_001));
    console.log(`→ trace ${traceId}, ${spans.length} spans`);
    await client.query("LOAD 'auto_explain'");
    await client.query("SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on; SET auto_explain.log_level = notice");
    client.on("notice", (n) => console.log(`\n${n.message}`));
    await traceIdOfJob(client, "flow run", `run.${t}`);
    await traceSpans(client, traceId!, 2_001);
  } finally {
    client.release();
  }
} finally {
  await env.close();
}
