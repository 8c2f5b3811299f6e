-- LLM tasks: every provider call (the cost ledger), every task (genealogy and output), handoffs between
-- tasks, and daily-budget warnings for the alerts engine to pick up.

-- One row per provider call, written before the call ('pending') and completed after it, so a process that
-- dies mid-call leaves a visible row instead of nothing. call_attempt names the call within its task
-- (job attempt, execution, call number): recording the same call twice is a no-op.
CREATE TABLE llm_calls (
  call_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id          text        NOT NULL,
  call_attempt     text        NOT NULL,
  chain_id         text,
  trace_id         text,
  job_id           text,
  provider         text        NOT NULL,
  model            text        NOT NULL,
  tier             text        NOT NULL CHECK (tier IN ('free', 'subscription', 'paid', 'offline')),
  attempt          integer     NOT NULL,
  status           text        NOT NULL CHECK (status IN ('pending', 'ok', 'error', 'rate_limited', 'cancelled', 'interrupted')),
  error            text,
  http_status      integer,
  input_tokens     integer     NOT NULL DEFAULT 0,
  output_tokens    integer     NOT NULL DEFAULT 0,
  -- The response carried no usage: tokens were estimated from the text.
  usage_estimated  boolean     NOT NULL DEFAULT false,
  cost_usd         numeric(14, 8) NOT NULL DEFAULT 0,
  latency_ms       integer,
  started_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  UNIQUE (task_id, call_attempt)
);
CREATE INDEX llm_calls_started_idx ON llm_calls (started_at);
CREATE INDEX llm_calls_chain_idx ON llm_calls (chain_id) WHERE chain_id IS NOT NULL;

-- One row per task: where it sits in its chain and what it produced. A cancelled streamed answer is kept
-- as 'partial'; a finished one as 'completed', which a re-run of the job returns instead of calling again.
CREATE TABLE llm_tasks (
  task_id         text        PRIMARY KEY,
  chain_id        text        NOT NULL,
  parent_task_id  text,
  handoff_id      text,
  status          text        NOT NULL CHECK (status IN ('running', 'completed', 'partial', 'failed')),
  provider        text,
  model           text,
  output          text,
  input_tokens    integer     NOT NULL DEFAULT 0,
  output_tokens   integer     NOT NULL DEFAULT 0,
  cost_usd        numeric(14, 8) NOT NULL DEFAULT 0,
  error           text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX llm_tasks_chain_idx ON llm_tasks (chain_id, created_at);

-- Pointer + summary: a task's full context stays here; the next task gets the id and a short summary.
CREATE TABLE llm_handoffs (
  handoff_id    text        PRIMARY KEY,
  from_task_id  text        NOT NULL,
  chain_id      text        NOT NULL,
  summary       text        NOT NULL CHECK (char_length(summary) <= 500),
  context       text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- A daily budget crossed 50 / 80 / 90 %: one row per provider, day, measure and threshold.
CREATE TABLE llm_budget_warnings (
  warning_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider      text        NOT NULL,
  day           date        NOT NULL,
  measure       text        NOT NULL CHECK (measure IN ('requests', 'tokens')),
  threshold     integer     NOT NULL CHECK (threshold IN (50, 80, 90)),
  used          bigint      NOT NULL,
  budget        bigint      NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, day, measure, threshold)
);
