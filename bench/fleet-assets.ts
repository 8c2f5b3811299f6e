// Synthetic assets for `npm run bench:fleet`: deterministic daily OHLCV series from a seeded geometric
// Brownian motion. Pure: no I/O, no clock, no Math.random — the same (seed, index, years, lastDay) always
// gives the same bars, and each asset has its own generator, so any subset (the spot check's five) can be
// regenerated alone.
//
// Even indices are CRYPTO (a bar every calendar day, 365 periods per year), odd ones EQUITY (weekday
// sessions, 252). Per bar: open = previous close × exp(gap) (a small overnight gap; tiny for crypto), close =
// open × exp(intraday), with gap and intraday variances adding up to the GBM's σ²·dt, so close-to-close
// log returns are N((μ − σ²/2)·dt, σ²·dt) with dt = 1 / periods per year. High and low extend max/min(open,
// close) by a half-normal multiple of the bar's σ; volume is lognormal noise around a base, higher on big
// moves. Prices are written as plain decimals with 8 significant digits (the importer takes no exponents),
// and high/low are fixed up after rounding so high ≥ max(open, close) and low ≤ min(open, close) hold for
// the values the importer reads.
import { mulberry32 } from "../test/helpers/random.ts";

export type FleetSession = "CRYPTO" | "EQUITY";

export interface FleetBar {
  date: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export interface FleetAsset {
  index: number;
  symbol: string;
  session: FleetSession;
  periodsPerYear: number;
  /** The GBM's parameters (annualised drift and volatility, first price). */
  params: { s0: number; mu: number; sigma: number };
  bars: FleetBar[];
}

export interface FleetAssetOptions {
  /** Calendar years of history, ending on `lastDay` (inclusive). */
  years: number;
  /** YYYY-MM-DD, the last bar of every asset; must be a weekday so both calendars end on it. */
  lastDay: string;
}

/** The last bar the bench generates (a Wednesday): it is the appended day; the backfill ends the day before. */
export const FLEET_LAST_DAY = "2025-12-31";

export const CSV_HEADER = "date,open,high,low,close,volume";

export const sessionOf = (index: number): FleetSession => (index % 2 === 0 ? "CRYPTO" : "EQUITY");

/** SYN0000-C, SYN0001-E, …: sorts by index, and says the session. */
export function fleetSymbol(index: number): string {
  return `SYN${String(index).padStart(4, "0")}-${sessionOf(index) === "CRYPTO" ? "C" : "E"}`;
}

/** Five fixed assets spread over the set (0, 123, 250, 377, 499 of 500), scaled to `count`, distinct. */
export function spotCheckIndices(count: number): number[] {
  const picks = [0, 123, 250, 377, 499].map((i) => Math.round((i * (count - 1)) / 499));
  return [...new Set(picks)];
}

// ── PRNG: mulberry32, seeded per (seed, index) through a 32-bit mix, and Box–Muller normals ─────────────

function mix32(x: number): number {
  // murmur3's finaliser: every input bit affects every output bit.
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}


function normals(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    // 1 − u is in (0, 1]: the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

// ── Calendars ──────────────────────────────────────────────────────────────────────────────────────────

const DAY_MS = 86_400_000;
const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDay(d: string): number {
  const m = ISO.exec(d);
  if (!m) throw new Error(`not a YYYY-MM-DD date: ${JSON.stringify(d)}`);
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (new Date(t).toISOString().slice(0, 10) !== d) throw new Error(`not a calendar date: ${d}`);
  return t;
}

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
const weekday = (t: number) => {
  const dow = new Date(t).getUTCDay();
  return dow !== 0 && dow !== 6;
};

/** Session days from the day after `lastDay` minus `years` years through `lastDay`. */
export function fleetCalendar(session: FleetSession, years: number, lastDay: string): string[] {
  const last = parseDay(lastDay);
  if (!weekday(last)) throw new Error(`lastDay ${lastDay} must be a weekday (both calendars end on it)`);
  const end = new Date(last);
  const first = Date.UTC(end.getUTCFullYear() - years, end.getUTCMonth(), end.getUTCDate()) + DAY_MS;
  const days: string[] = [];
  for (let t = first; t <= last; t += DAY_MS) if (session === "CRYPTO" || weekday(t)) days.push(isoDay(t));
  return days;
}

// ── Formatting ─────────────────────────────────────────────────────────────────────────────────────────

/** A positive price as a plain decimal with 8 significant digits (toFixed never uses an exponent below 1e21). */
export function formatPrice(x: number): string {
  if (!(x > 0) || !Number.isFinite(x) || x >= 1e15) throw new Error(`price out of range: ${x}`);
  const digits = Math.max(2, 7 - Math.floor(Math.log10(x)));
  return x.toFixed(digits);
}

// ── The generator ──────────────────────────────────────────────────────────────────────────────────────

const between = (u: () => number, lo: number, hi: number) => lo + (hi - lo) * u();

/** Asset `index` of the set generated with `seed`: pure and deterministic. */
export function generateAsset(seed: number, index: number, opts: FleetAssetOptions): FleetAsset {
  if (!Number.isInteger(seed) || !Number.isInteger(index) || index < 0) throw new Error(`seed and index must be integers (index ≥ 0), got ${seed}, ${index}`);
  if (!Number.isInteger(opts.years) || opts.years < 1) throw new Error(`years must be a positive integer, got ${opts.years}`);
  const session = sessionOf(index);
  const crypto = session === "CRYPTO";
  const periodsPerYear = crypto ? 365 : 252;
  const u = mulberry32(mix32(mix32(seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b9)));
  const z = normals(u);

  // Per-asset parameters: crypto is more volatile and trades round the clock (almost no gap).
  const s0 = Math.exp(between(u, Math.log(crypto ? 0.5 : 5), Math.log(crypto ? 50_000 : 500)));
  const mu = crypto ? between(u, -0.2, 0.6) : between(u, -0.05, 0.15);
  const sigma = crypto ? between(u, 0.45, 0.95) : between(u, 0.12, 0.45);
  const gapShare = crypto ? between(u, 0.02, 0.08) : between(u, 0.2, 0.4);
  const rangeK = between(u, 0.5, 0.9);
  const baseVolume = Math.exp(between(u, Math.log(crypto ? 1e4 : 1e5), Math.log(crypto ? 1e8 : 5e7)));

  const dt = 1 / periodsPerYear;
  const barSigma = sigma * Math.sqrt(dt);
  const gapSigma = barSigma * gapShare;
  const intraSigma = barSigma * Math.sqrt(1 - gapShare * gapShare);
  const drift = (mu - (sigma * sigma) / 2) * dt;

  const bars: FleetBar[] = [];
  let prevClose = s0;
  for (const date of fleetCalendar(session, opts.years, opts.lastDay)) {
    const open = prevClose * Math.exp(gapSigma * z());
    const r = drift + intraSigma * z();
    const close = open * Math.exp(r);
    const high = Math.max(open, close) * Math.exp(Math.abs(z()) * rangeK * barSigma);
    const low = Math.min(open, close) * Math.exp(-Math.abs(z()) * rangeK * barSigma);
    const volume = Math.max(1, Math.round(baseVolume * Math.exp(0.4 * z()) * (1 + 8 * Math.abs(r))));
    const o = formatPrice(open);
    const c = formatPrice(close);
    let h = formatPrice(high);
    let l = formatPrice(low);
    // Rounding may move the extremes past open or close: the invariants hold for the values read back.
    const top = Number(o) >= Number(c) ? o : c;
    const bottom = Number(o) <= Number(c) ? o : c;
    if (Number(h) < Number(top)) h = top;
    if (Number(l) > Number(bottom)) l = bottom;
    bars.push({ date, open: o, high: h, low: l, close: c, volume: String(volume) });
    prevClose = close;
  }
  return { index, symbol: fleetSymbol(index), session, periodsPerYear, params: { s0, mu, sigma }, bars };
}

/** The bars as the importer's CSV (header, one line per bar, a final line break). */
export function toCsv(bars: readonly FleetBar[]): string {
  let out = `${CSV_HEADER}\n`;
  for (const b of bars) out += `${b.date},${b.open},${b.high},${b.low},${b.close},${b.volume}\n`;
  return out;
}
