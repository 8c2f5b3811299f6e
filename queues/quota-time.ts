// Calendar-day boundaries in a configurable time zone, for daily budgets that reset at local midnight.
const formatters = new Map<string, Intl.DateTimeFormat>();

function parts(ms: number, tz: string) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    formatters.set(tz, f);
  }
  const o: Record<string, string> = {};
  for (const p of f.formatToParts(ms)) o[p.type] = p.value;
  return o;
}

/** 'YYYY-MM-DD' of the instant in `tz`. */
export function dayKey(ms: number, tz: string): string {
  const p = parts(ms, tz);
  return `${p.year}-${p.month}-${p.day}`;
}

/** Milliseconds from `ms` to the next local midnight in `tz` (DST-safe: searched, not assumed 24 h). */
export function msUntilNextDay(ms: number, tz: string): number {
  const p = parts(ms, tz);
  const elapsed = ((Number(p.hour) * 60 + Number(p.minute)) * 60 + Number(p.second)) * 1000 + (ms % 1000);
  let guess = 24 * 3600_000 - elapsed;
  // Around DST changes a local day is 23 or 25 hours: step until the day key flips.
  const today = dayKey(ms, tz);
  while (dayKey(ms + guess, tz) === today) guess += 3600_000;
  while (guess > 3600_000 && dayKey(ms + guess - 3600_000, tz) !== today) guess -= 3600_000;
  return Math.max(1, guess);
}

export function assertTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
  } catch {
    throw new Error(`unknown time zone ${JSON.stringify(tz)}`);
  }
}
