import { z } from "zod";
import { BASE_JOB_OPTIONS, defineKind, isoDate, rerunSuffix, runAttribute, runId, symbol } from "../kind.ts";

/** Feature-pipeline stages in dependency order (see queues/flows/daily-refresh.ts for the DAG). */
export const STAGES = ["ema", "returns", "volatility", "ta", "features", "quality"] as const;
export type StageName = (typeof STAGES)[number];

export interface StageResult {
  stage: StageName;
  asset: string;
  rowsWritten: number;
  /** Stage-specific figures (quality score, watermark, ...). */
  details?: Record<string, unknown>;
}

const schema = z.strictObject({
  stage: z.enum(STAGES),
  asset: symbol,
  asOf: isoDate,
  runId: runId.optional(),
  /** Distinguishes a deliberate re-run of the same day from an accidental duplicate. */
  rerun: z.number().int().min(1).max(999).optional(),
  /** Ignore watermarks and recompute the whole history. */
  full: z.boolean().optional(),
});

export const stageKind = defineKind<"stage", typeof schema, StageResult>({
  name: "stage",
  schema,
  jobName: (p) => p.stage,
  jobId: (p) => `stage.${p.stage}.${p.asset}.${p.asOf}${rerunSuffix(p.rerun)}`,
  jobOptions: { ...BASE_JOB_OPTIONS },
  timeoutMs: 10 * 60_000,
  tracing: { slowMs: 2 * 60_000 },
  spanAttributes: (p) => ({ asset: p.asset, stage: p.stage, as_of: p.asOf, ...runAttribute(p) }),
});
