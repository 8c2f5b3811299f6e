// The quality stage's I/O: gather the inputs of the checks, assess, store one row per check job.
import { canonicalDates, equityTradingDays, featureHealth, saveQuality } from "../../../db/repos/quality.ts";
import type { Asset } from "../../../db/repos/assets.ts";
import type { JobContext } from "../../runtime.ts";
import type { WorkerDeps } from "../../deps.ts";
import { parseTfLabel } from "../../../compute/indicators/timeframe.ts";
import { assessQuality, calendarDays, misalignedCanonical } from "../../../compute/quality/checks.ts";

interface QualityCtx {
  // What the stage processor's deps hold; named here so this module does not import its caller.
  deps: Pick<WorkerDeps, "pool"> & { emaTimeframes: readonly string[] };
  p: { asset: string; asOf: string };
  job: JobContext;
  asset: Asset;
  dates: readonly string[];
}

export async function runQuality(c: QualityCtx): Promise<{ rowsWritten: number; details: Record<string, unknown> }> {
  const t0 = performance.now();
  const { deps, asset, dates, p } = c;
  const first = dates[0]!;
  const expected = asset.session_type === "CRYPTO" ? calendarDays(first, p.asOf) : await equityTradingDays(deps.pool, first, p.asOf);
  const health = await featureHealth(deps.pool, asset.asset_id, p.asOf);
  let misaligned = 0;
  for (const tf of deps.emaTimeframes) {
    const parsed = parseTfLabel(tf);
    if (parsed.kind !== "calendar") continue;
    misaligned += misalignedCanonical(dates, await canonicalDates(deps.pool, asset.asset_id, tf, p.asOf), parsed.scheme, parsed.multiple);
  }
  const r = assessQuality({ session: asset.session_type, dates, expected, ...health, featureRows: health.rows, misaligned });
  await saveQuality(deps.pool, {
    jobId: c.job.job.id!,
    symbol: asset.symbol,
    asOf: p.asOf,
    overallScore: r.overallScore,
    freshnessScore: r.freshnessScore,
    completenessScore: r.completeness,
    outlierScore: r.outlierScore,
    outliersDetected: health.outliers,
    status: r.status,
    issues: r.issues,
    gaps: r.gaps,
    expectedRows: r.expectedRows,
    actualRows: r.actualRows,
    rowcountDeviation: r.rowcountDeviation,
    nullRatio: health.nullRatio,
    nullEmaCount: health.nullEmas,
    misalignedBars: misaligned,
    staleSeconds: r.staleSeconds,
    checkDurationMs: performance.now() - t0,
  });
  return { rowsWritten: 1, details: { score: r.overallScore, status: r.status, issues: r.issues.map((i) => `${i.severity}: ${i.message}`) } };
}
