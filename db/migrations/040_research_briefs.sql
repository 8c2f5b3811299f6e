-- Research briefs (workers/llm/brief.ts): one per daily-refresh run, written by the `research-brief` job
-- that the run root enqueues once the run is summarised. The answer is an ordinary LLM task (llm_tasks,
-- llm_calls: routed, budgeted and priced like every task); this row links it to the run, keeps the prompt
-- built from the database and its answer, and tracks the Telegram delivery part by part.
CREATE TABLE research_briefs (
  run_id           text PRIMARY KEY,
  as_of            date NOT NULL,
  task_id          text NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
  prompt           text NOT NULL,
  output           text,
  provider         text,
  model            text,
  error            text,
  -- Telegram: the answer split into parts of at most 4096 characters; per chat, how many parts were sent.
  parts            integer,
  delivered_parts  jsonb NOT NULL DEFAULT '{}'::jsonb,
  delivery_status  text NOT NULL DEFAULT 'pending' CHECK (delivery_status IN ('pending', 'delivered', 'failed', 'disabled')),
  delivery_error   text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz
);
CREATE INDEX research_briefs_task_idx ON research_briefs (task_id);
