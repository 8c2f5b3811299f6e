// The environment is read once, here. Every other module receives the frozen result, so a bad value
// stops the process at start-up (naming the variable) instead of surfacing mid-job.
import { z } from "zod";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no"])
  .transform((v) => v === "1" || v === "true" || v === "yes");
const port = z.coerce.number().int().min(1).max(65535);
const posInt = z.coerce.number().int().positive();
const list = z
  .string()
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));
const url = (protocols: string[]) =>
  z.string().refine((s) => {
    try {
      return protocols.includes(new URL(s).protocol);
    } catch {
      // Not a URL at all: the refinement's message says what is expected.
      return false;
    }
  }, `must be a ${protocols.join(" or ")} URL`);

const hostPorts = list.pipe(
  z
    .array(
      z.string().transform((s, ctx) => {
        const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(s);
        const p = Number(m?.[2]);
        if (!m || p < 1 || p > 65535) {
          ctx.addIssue({ code: "custom", message: `must be comma-separated host:port entries (${JSON.stringify(s)} is not one)` });
          return z.NEVER;
        }
        return Object.freeze({ host: m[1]!.replace(/^\[|\]$/g, ""), port: p });
      }),
    )
    .min(1),
);

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Where the fleet's Redis is: a `redis://` / `rediss://` URL, or a Sentinel or Cluster topology. */
export type RedisTopology =
  | string
  | Readonly<{ kind: "sentinel"; sentinels: readonly HostPort[]; master: string; sentinelPassword?: string; username?: string; password?: string }>
  | Readonly<{ kind: "cluster"; nodes: readonly HostPort[]; username?: string; password?: string }>;

// Variables whose values never appear in messages, logs or spans.
export const SECRET_KEYS = new Set([
  "DATABASE_URL",
  "REDIS_URL",
  "REDIS_PASSWORD",
  "REDIS_SENTINEL_PASSWORD",
  "BOARD_PASSWORD",
  "BOARD_TOKEN",
  "TELEGRAM_BOT_TOKEN",
  "OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "GEMINI_API_KEY",
]);

const shape = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  // Unset → info, except where a person watches a terminal: CLIs that report their own results (enqueue,
  // demo, cost) and the processes `npm start` runs on one log warnings and errors only.
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
  // Unset → pretty lines on a terminal outside production, JSON otherwise (ops/logger.ts chooseLogFormat).
  LOG_FORMAT: z.enum(["json", "pretty"]).optional(),
  // The older spelling of LOG_FORMAT (1 = pretty, 0 = json), still honoured so existing setups keep their
  // format; LOG_FORMAT wins when both are set. Folded into LOG_FORMAT (schema, below).
  LOG_PRETTY: bool.optional(),
  // Unset → the embedded local stack (started on demand under DATA_DIR).
  // Exactly one Redis topology (redisTopology, below): a URL (user:password@ for an ACL user), Sentinel or Cluster.
  REDIS_URL: url(["redis:", "rediss:"]).optional(),
  REDIS_SENTINELS: hostPorts.optional(),
  REDIS_SENTINEL_MASTER: z.string().regex(/^[A-Za-z0-9_.-]+$/, "letters, digits and _.- only").optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  REDIS_CLUSTER_NODES: hostPorts.optional(),
  // Credentials of the data nodes under Sentinel or Cluster (a REDIS_URL carries its own).
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  DATA_DIR: z.string().min(1).default(".data"),
  EMBED_REDIS_PORT: port.default(6390),
  EMBED_PG_PORT: port.default(5440),
  // BullMQ key prefix; a {hash tag} keeps every key of the fleet in one Redis Cluster slot.
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}:.-]+$/, "letters, digits and _{}:.- only")
    .default("{ta}"),
  // Unset → every declared job kind. Names are checked against the kinds (queues/registry.ts selectKinds)
  // by the worker at start-up: config knows nothing of queues, so a new kind needs no change here.
  WORKER_QUEUES: list.optional(),
  WORKER_CONCURRENCY: posInt.max(1000).default(4),
  WORKER_SHUTDOWN_MS: posInt.default(30_000),
  // `npm run import` refuses larger files before reading them; `enqueue sweep` refuses larger grids before building them.
  IMPORT_MAX_BYTES: posInt.default(512 * 1024 * 1024),
  SWEEP_MAX_COMBINATIONS: posInt.default(1_000_000),
  // A job hit by a Redis/PostgreSQL outage waits (capped backoff) without spending attempts for this long.
  OUTAGE_TOLERANCE_S: posInt.default(600),
  OUTAGE_RETRY_MAX_MS: posInt.max(300_000).default(10_000),
  COMPUTE_THREADS: posInt.max(64).optional(),
  // Multi-timeframe EMAs the ema stage maintains (labels of dim_timeframe); each adds 7 rows per bar.
  EMA_TIMEFRAMES: list.default(["7D", "30D", "1W", "1M"]),
  SCHEDULE_TZ: z.string().min(1).default("UTC"),
  DAILY_REFRESH_CRON: z.string().min(1).default("0 30 0 * * *"),
  DAILY_REFRESH_ASSETS: list.default(["BTC-USD", "ETH-USD", "SPY", "NASDAQ"]),
  // A scheduled walk-forward per asset (unset cron: none). Ranges as the CLI takes them: LO..HI or LO..HI:STEP.
  WALK_FORWARD_CRON: z.string().min(1).optional(),
  WALK_FORWARD_ASSETS: list.optional(),
  WALK_FORWARD_FAST: z.string().regex(/^\d+\.\.\d+(:\d+)?$/, "must be LO..HI or LO..HI:STEP").default("5..50:5"),
  WALK_FORWARD_SLOW: z.string().regex(/^\d+\.\.\d+(:\d+)?$/, "must be LO..HI or LO..HI:STEP").default("10..200:5"),
  WALK_FORWARD_TRAIN: posInt.min(2).max(100_000).default(730),
  WALK_FORWARD_TEST: posInt.min(2).max(100_000).default(365),
  WEB_HOST: z.string().min(1).default("127.0.0.1"),
  WEB_PORT: port.default(3000),
  // Health probes of worker/scheduler/bot processes; `npm start` sets HEALTH_PORT per process from the
  // HEALTH_PORT_* bases below. PORT is what other Procfile supervisors assign.
  HEALTH_PORT: port.optional(),
  PORT: port.optional(),
  // `npm start`: processes per Procfile type, and each type's first health port (instance n: base + n − 1).
  FLEET_FORMATION: z
    .string()
    .regex(/^[A-Za-z0-9_-]+=\d+(,[A-Za-z0-9_-]+=\d+)*$/, "must look like web=1,worker=2,scheduler=1,bot=1")
    .default("web=1,worker=2,scheduler=1,bot=1"),
  HEALTH_PORT_WORKER: port.default(3110),
  HEALTH_PORT_SCHEDULER: port.default(3101),
  HEALTH_PORT_BOT: port.default(3102),
  BOARD_USER: z.string().min(1).optional(),
  BOARD_PASSWORD: z.string().min(8).optional(),
  BOARD_TOKEN: z.string().min(16).optional(),
  BOARD_READ_ONLY: bool.default(true),
  TELEGRAM_BOT_TOKEN: z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, "must look like <id>:<secret>").optional(),
  TELEGRAM_CHAT_IDS: list.default([]),
  TELEGRAM_API_ROOT: url(["http:", "https:"]).default("https://api.telegram.org"),
  // Chat-ops (apps/bot): TELEGRAM_CHAT_IDS may read (/status, /failed); these chats or users may also act.
  TELEGRAM_ADMIN_CHAT_IDS: list.default([]),
  // Bot replicas (apps/bot): the lease that makes one active; a dead holder is replaced within it + 0.3 s.
  BOT_LEASE_MS: posInt.min(1_000).max(300_000).default(10_000),
  // Where operators reach the web process; alert messages link to its bull-board pages. Unset → WEB_HOST:WEB_PORT.
  DASHBOARD_URL: url(["http:", "https:"]).optional(),
  // Alert rules (alerts/rules.ts) and delivery.
  ALERT_BACKLOG_MAX: posInt.default(1_000),
  ALERT_OLDEST_WAITING_S: posInt.default(900),
  ALERT_BASELINE_FACTOR: z.coerce.number().gt(1).default(2),
  ALERT_BASELINE_METRICS: list.default(["job_run_ms", "job_wait_ms"]),
  ALERT_BASELINE_MIN_SAMPLES: posInt.default(20),
  ALERT_BUDGET_LEVELS: list.pipe(z.array(z.string().transform(Number).pipe(z.number().gt(0).lt(95))).min(1)).default([50, 80, 90]),
  ALERT_ESCALATE_AFTER: posInt.default(3),
  ALERT_COOLDOWN_S: posInt.default(1_800),
  ALERT_EVENT_COOLDOWN_S: posInt.default(900),
  ALERT_DELIVERY_MAX_BACKOFF_S: posInt.default(300),
  // Tracing (README "Tracing"): head sampling per job kind, "queue=ratio" or "queue:job=ratio", merged over
  // the defaults in ops/sampling.ts; the most specific entry wins. Queue names are checked against the kinds
  // by the worker at start-up, like WORKER_QUEUES.
  TRACE_SAMPLING: z
    .string()
    .regex(/^[A-Za-z0-9_*-]+(:[A-Za-z0-9_-]+)?=[0-9.]+(,[A-Za-z0-9_*-]+(:[A-Za-z0-9_-]+)?=[0-9.]+)*$/, "must look like maintenance:smoke=0.01,backtest:sweep-chunk=0.1")
    .transform((s, ctx) => {
      const out: Record<string, number> = {};
      for (const entry of s.split(",")) {
        const [key, raw] = entry.split("=") as [string, string];
        const ratio = Number(raw);
        if (!(ratio >= 0 && ratio <= 1)) {
          ctx.addIssue({ code: "custom", message: `ratio of ${key} must be a number from 0 to 1, got ${JSON.stringify(raw)}` });
          return z.NEVER;
        }
        out[key] = ratio;
      }
      return Object.freeze(out);
    })
    .optional(),
  // Daily span partitions older than this are dropped by the maintenance schedule; today's never is.
  SPAN_RETENTION_DAYS: posInt.max(3650).default(14),
  ...llmShape(),
});

// LLM tasks (workers/llm, README "LLM tasks"): a provider is enabled by its API key; LLM_OFFLINE=1 sends
// every task to the offline provider instead, labelled as such in results, ledger and logs.
function llmShape() {
  const tier = z.enum(["free", "subscription", "paid"]);
  const budgetKey = "(?:rpd|tpd|rpm|tpm|concurrent)=\\d+";
  // "rpd=1500,rpm=15,tpm=1000000,concurrent=4": requests/tokens per day and per minute, calls in flight.
  const budget = z
    .string()
    .regex(new RegExp(`^${budgetKey}(?:,${budgetKey})*$`), "must look like rpd=1500,rpm=15,tpm=1000000,concurrent=4")
    .transform((s) => Object.fromEntries(s.split(",").map((kv) => [kv.split("=")[0], Number(kv.split("=")[1])])) as LlmBudgetSpec);
  const prices = z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        // The issue carries the key; the parser's message would only repeat the value.
        ctx.addIssue({ code: "custom", message: "must be JSON" });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string().regex(/^[a-z0-9_-]+:\S+$/, 'keys look like "openai:gpt-4o-mini" or "openai:*"'), z.strictObject({ input: z.number().min(0), output: z.number().min(0) })));
  const http = url(["http:", "https:"]);
  return {
    OPENAI_API_KEY: z.string().min(1).optional(),
    ANTHROPIC_API_KEY: z.string().min(1).optional(),
    GEMINI_API_KEY: z.string().min(1).optional(),
    OPENAI_BASE_URL: http.default("https://api.openai.com/v1"),
    ANTHROPIC_BASE_URL: http.default("https://api.anthropic.com"),
    GEMINI_BASE_URL: http.default("https://generativelanguage.googleapis.com"),
    OPENAI_MODEL: z.string().min(1).default("gpt-4o-mini"),
    ANTHROPIC_MODEL: z.string().min(1).default("claude-haiku-4-5"),
    GEMINI_MODEL: z.string().min(1).default("gemini-2.5-flash"),
    GEMINI_TIER: tier.default("free"),
    OPENAI_TIER: tier.default("paid"),
    ANTHROPIC_TIER: tier.default("paid"),
    LLM_TIER_ORDER: list.pipe(z.array(tier).min(1)).default(["free", "subscription", "paid"]),
    GEMINI_BUDGET: budget.default({ rpd: 1_500, rpm: 15, tpm: 1_000_000, concurrent: 4 }),
    OPENAI_BUDGET: budget.default({ rpd: 10_000, rpm: 500, tpm: 200_000, concurrent: 8 }),
    ANTHROPIC_BUDGET: budget.default({ rpd: 5_000, rpm: 50, tpm: 40_000, concurrent: 4 }),
    // Daily budgets reset at midnight in this zone.
    LLM_QUOTA_TZ: z.string().min(1).default("UTC"),
    // USD per million tokens, overriding workers/llm/pricing.ts: {"openai:gpt-4o-mini":{"input":0.15,"output":0.6}}
    LLM_PRICES: prices.optional(),
    LLM_OFFLINE: bool.default(false),
    LLM_CALL_TIMEOUT_MS: posInt.default(120_000),
    LLM_BATCH_MAX_CONCURRENCY: posInt.max(100).default(10),
    // Research briefs (workers/llm/brief.ts): the daily refresh's run root enqueues one per completed run.
    RESEARCH_BRIEF: z.enum(["on", "off"], { error: "must be on or off" }).default("on"),
  };
}

export interface LlmBudgetSpec {
  rpd?: number;
  tpd?: number;
  rpm?: number;
  tpm?: number;
  concurrent?: number;
}

const schema = shape.transform(({ LOG_PRETTY, ...rest }, ctx) => ({
  ...rest,
  LOG_FORMAT: rest.LOG_FORMAT ?? (LOG_PRETTY === undefined ? undefined : LOG_PRETTY ? ("pretty" as const) : ("json" as const)),
  /** Unset → the embedded local Redis (ops/embedded). */
  redis: redisTopology(rest, ctx),
}));

type RedisKeys = Pick<z.output<typeof shape>, "REDIS_URL" | "REDIS_SENTINELS" | "REDIS_SENTINEL_MASTER" | "REDIS_SENTINEL_PASSWORD" | "REDIS_CLUSTER_NODES" | "REDIS_USERNAME" | "REDIS_PASSWORD" | "QUEUE_PREFIX">;

/** The one topology the REDIS_* variables describe; a conflicting or incomplete set is an issue naming a key. */
function redisTopology(env: RedisKeys, ctx: z.RefinementCtx): RedisTopology | undefined {
  const issue = (key: keyof RedisKeys, message: string) => {
    ctx.addIssue({ code: "custom", path: [key], message });
    return undefined;
  };
  const chosen = (["REDIS_URL", "REDIS_SENTINELS", "REDIS_CLUSTER_NODES"] as const).filter((k) => env[k] !== undefined);
  if (chosen.length > 1) return issue(chosen[1]!, `conflicts with ${chosen[0]}: set exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES`);
  const creds = { ...(env.REDIS_USERNAME ? { username: env.REDIS_USERNAME } : {}), ...(env.REDIS_PASSWORD ? { password: env.REDIS_PASSWORD } : {}) };
  if (env.REDIS_USERNAME && !env.REDIS_PASSWORD) return issue("REDIS_USERNAME", "needs REDIS_PASSWORD too");
  if (!env.REDIS_SENTINELS) {
    for (const k of ["REDIS_SENTINEL_MASTER", "REDIS_SENTINEL_PASSWORD"] as const) if (env[k] !== undefined) return issue(k, "only with REDIS_SENTINELS");
  }
  if (env.REDIS_SENTINELS) {
    if (!env.REDIS_SENTINEL_MASTER) return issue("REDIS_SENTINEL_MASTER", "required with REDIS_SENTINELS (the monitored master's name)");
    return Object.freeze({ kind: "sentinel", sentinels: Object.freeze(env.REDIS_SENTINELS), master: env.REDIS_SENTINEL_MASTER, ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}), ...creds });
  }
  if (env.REDIS_CLUSTER_NODES) {
    // Flows and the quota scripts touch keys of several queues at once: under Cluster they must share a slot.
    if (!/^[^{]*\{[^}]+\}/.test(env.QUEUE_PREFIX)) return issue("QUEUE_PREFIX", "needs a non-empty {hash tag} with REDIS_CLUSTER_NODES");
    return Object.freeze({ kind: "cluster", nodes: Object.freeze(env.REDIS_CLUSTER_NODES), ...creds });
  }
  for (const k of ["REDIS_USERNAME", "REDIS_PASSWORD"] as const) {
    if (env[k] !== undefined) return issue(k, "only with REDIS_SENTINELS or REDIS_CLUSTER_NODES (a REDIS_URL carries its own user:password@)");
  }
  return env.REDIS_URL;
}

/** Every variable the config reads (README's configuration tables document each one). */
export const CONFIG_KEYS: readonly string[] = Object.keys(shape.shape);

export type Config = Readonly<z.output<typeof schema>>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

function describe(key: string, raw: unknown): string {
  if (raw === undefined) return "missing";
  return SECRET_KEYS.has(key) ? "got [redacted]" : `got ${JSON.stringify(raw)}`;
}

/** Parse an environment into a frozen config; throws ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset": `FOO= npm start` should not count as a value.
  const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(input);
  if (!result.success) {
    const parts = result.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      return `${key}: ${issue.message} (${describe(key, input[key])})`;
    });
    throw new ConfigError(`invalid environment: ${parts.join("; ")}`);
  }
  const cfg = result.data;
  if (cfg.BOARD_USER && !cfg.BOARD_PASSWORD) {
    throw new ConfigError("invalid environment: BOARD_PASSWORD: missing (required when BOARD_USER is set)");
  }
  for (const value of Object.values(cfg)) if (Array.isArray(value)) Object.freeze(value);
  return Object.freeze(cfg);
}

let cached: Config | undefined;

/** The process-wide config; exits with code 2 and a one-line message on a bad environment. */
export function config(): Config {
  if (cached) return cached;
  try {
    cached = parseConfig();
    return cached;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ta-fleet: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
