-- The cost tier a task was served at (free, subscription, paid, offline), returned again when a completed
-- task's job re-runs.
ALTER TABLE llm_tasks ADD COLUMN tier text;
