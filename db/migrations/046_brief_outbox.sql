-- Research briefs leave through the delivery outbox like alerts (alerts/deliver.ts): the llm job stores the
-- answer and makes it due (next_delivery_at); a deliverer claims it with a lease (next_delivery_at moved
-- past the lease, delivery_attempts + 1), sends the parts each chat has not accepted, in order, and records
-- each one (delivered_parts). A Telegram failure puts it back with a backoff; a crashed deliverer's lease
-- runs out. NULL: not due (no answer yet).
ALTER TABLE research_briefs
  ADD COLUMN next_delivery_at   timestamptz,
  ADD COLUMN delivery_attempts  integer NOT NULL DEFAULT 0;

-- Answers stored before this migration whose delivery never finished: the outbox takes them over.
UPDATE research_briefs SET next_delivery_at = now() WHERE status = 'completed' AND delivery_status = 'pending';

CREATE INDEX research_briefs_due_idx ON research_briefs (next_delivery_at) WHERE delivery_status = 'pending' AND next_delivery_at IS NOT NULL;
