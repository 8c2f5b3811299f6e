import { z } from "zod";
import { BASE_JOB_OPTIONS, defineKind, isoDate, rerunSuffix, runAttribute, runId, symbol } from "../kind.ts";

export interface SignalResult {
  signalId: number;
  asset: string;
  signalType: string;
  rowsWritten: number;
  featureVersionHash: string;
  /**
   * The digest of the bytes that hash covers (compute/signals/feature-hash.ts featureDigest): the backtest
   * after this job reuses the hash when its own features have the same digest. Absent from results stored
   * before it existed.
   */
  featureDigest?: string;
  openPositions: number;
}

const schema = z.strictObject({
  signalId: z.number().int().positive(),
  asset: symbol,
  asOf: isoDate,
  runId: runId.optional(),
  rerun: z.number().int().min(1).max(999).optional(),
});

export const signalKind = defineKind<"signal", typeof schema, SignalResult>({
  name: "signal",
  schema,
  jobName: () => "signal",
  jobId: (p) => `signal.${p.signalId}.${p.asset}.${p.asOf}${rerunSuffix(p.rerun)}`,
  jobOptions: { ...BASE_JOB_OPTIONS },
  timeoutMs: 5 * 60_000,
  tracing: { slowMs: 60_000 },
  spanAttributes: (p) => ({ asset: p.asset, "signal.id": p.signalId, ...runAttribute(p) }),
});
