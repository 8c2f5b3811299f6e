-- Every sweep gets its Deflated Sharpe Ratio; only its PBO may be skipped on its own. The DSR needs one
-- SR, g3 and g4 per combination (cheap at any N), while the PBO compares all N combinations on each of
-- C(S, S/2) splits and needs their block summaries, so a sweep over the PBO's size limit (or with
-- ⌊T/S⌋ < 2) still has a DSR. pbo_skipped_reason says why a row with a DSR has no PBO.
ALTER TABLE sweep_research ADD COLUMN pbo_skipped_reason text;

-- 033's unnamed CHECK, named by PostgreSQL (pg_constraint.conname): it tied the DSR to the PBO.
ALTER TABLE sweep_research DROP CONSTRAINT sweep_research_check;

-- DSR present iff the research was not skipped; PBO present iff neither it nor the research was skipped
-- (pbo_skipped_reason is meaningless on a skipped row, so it must be NULL there).
ALTER TABLE sweep_research
  ADD CONSTRAINT sweep_research_dsr_present CHECK ((skipped_reason IS NULL) = (dsr IS NOT NULL)),
  ADD CONSTRAINT sweep_research_pbo_present CHECK ((skipped_reason IS NULL AND pbo_skipped_reason IS NULL) = (pbo IS NOT NULL)),
  ADD CONSTRAINT sweep_research_pbo_skip_needs_dsr CHECK (pbo_skipped_reason IS NULL OR skipped_reason IS NULL);
