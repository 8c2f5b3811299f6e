-- Workflow transitions applied in batches: a worker records one per job (≈ 15 per asset in a daily refresh),
-- and a statement each was a round trip and a commit each. The function applies a batch's transitions in
-- order, each with the rules the single statement had (db/repos/workflow.ts recordTransitions). A transition
-- without metadata keeps the stored value itself, not a merge equal to it: a run's metadata (its asset list)
-- is toasted beyond a few dozen assets, and a merged value is compressed and stored again on every update.
CREATE FUNCTION observability.record_workflow_transitions(batch jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  t jsonb;
BEGIN
  FOR t IN SELECT value FROM jsonb_array_elements(batch) WITH ORDINALITY ORDER BY ordinality LOOP
    INSERT INTO observability.workflow_state AS w (workflow_id, correlation_id, workflow_type, current_phase, status, metadata)
    VALUES (t->>'workflowId', t->>'correlationId', t->>'type', t->>'phase', t->>'status', t->'metadata')
    ON CONFLICT (workflow_id) DO UPDATE
      SET current_phase = EXCLUDED.current_phase, status = EXCLUDED.status, updated_at = now(),
          metadata = CASE WHEN EXCLUDED.metadata = '{}' THEN w.metadata ELSE w.metadata || EXCLUDED.metadata END
      WHERE (t->>'final')::boolean
         OR (w.status NOT IN ('completed', 'partial', 'failed', 'cancelled') AND (EXCLUDED.status <> 'pending' OR w.status = 'pending'));
    INSERT INTO observability.workflow_events (workflow_id, phase, status, metadata)
    VALUES (t->>'workflowId', t->>'phase', t->>'event', t->'eventMetadata');
  END LOOP;
END $$;
