// Baseline degradation (seed 000, "alert fatigue"): compare a metric's median over the last hour with its
// median over the last 7 days, per metric and queue label, so thresholds follow normal variance. Groups
// with too few samples in either window are left out rather than alerting on noise.
import type { Pool } from "../db/pool.ts";
import { percentiles } from "../db/repos/metrics.ts";
import type { BaselineRow } from "./types.ts";

export interface BaselineOptions {
  metrics: readonly string[];
  minSamples: number;
  recentS?: number;
  historyDays?: number;
}

export async function baselineRows(pool: Pool, o: BaselineOptions, now: Date): Promise<BaselineRow[]> {
  const perMetric = await Promise.all(
    o.metrics.map(async (metric) => {
      const window = (windowSeconds: number) => percentiles(pool, { name: metric, windowSeconds, groupBy: ["queue"], until: now });
      const [recent, history] = await Promise.all([window(o.recentS ?? 3_600), window((o.historyDays ?? 7) * 86_400)]);
      const byQueue = new Map(history.map((h) => [h.group.queue ?? "", h]));
      return recent.flatMap((r): BaselineRow[] => {
        const queue = r.group.queue ?? "";
        const h = byQueue.get(queue);
        if (!h || r.n < o.minSamples || h.n < o.minSamples) return [];
        return [{ metric, queue, p50Hour: r.p50, p50Week: h.p50, samplesHour: r.n, samplesWeek: h.n }];
      });
    }),
  );
  return perMetric.flat();
}
