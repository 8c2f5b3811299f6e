import { performance } from "node:perf_hooks";
import fs from "node:fs";
import * as C from "./workers/stage/compute/index.ts";
import { bollingerBands } from "./workers/stage/compute/bollinger.ts";
const lines = fs.readFileSync("data/BTC-USD_daily.csv","utf8").trim().split("\n").slice(1);
const col = (j:number)=>Float64Array.from(lines,l=>Number(l.split(",")[j]));
const o=col(1),h=col(2),l=col(3),c=col(4);
const n=c.length;
const T: Record<string, number> = {};
const tm = (k: string, f: () => unknown) => { const t=performance.now(); const r=f(); T[k]=Math.min(T[k]??Infinity, performance.now()-t); return r; };
function all() {
  tm("ema", ()=>{ for (const p of C.EMA_PERIODS) { const e=new Float64Array(n); C.emaInto(c,p,e);} });
  const lc = tm("logp", ()=>C.logPrices(c)) as Float64Array;
  tm("rets", ()=>{ for (const k of C.RETURN_LOOKBACKS){const p=new Float64Array(n),g=new Float64Array(n); C.returnsInto(c,k,p,g,lc);} });
  const rv = tm("rangevar", ()=>C.rangeVariances(o,h,l,c,lc)) as ReturnType<typeof C.rangeVariances>;
  tm("rollvol", ()=>{ C.rollingAnnualisedVol(rv.parkinson,365); C.rollingAnnualisedVol(rv.garmanKlass,365); C.rollingAnnualisedVol(rv.rogersSatchell,365); });
  tm("atr", ()=>C.atr(h,l,c)); tm("rsi", ()=>C.rsi(c)); tm("macd", ()=>C.macd(c)); tm("stoch", ()=>C.stochastic(h,l,c)); tm("bb", ()=>bollingerBands(c)); tm("adx", ()=>C.adx(h,l,c));
}
for (let i=0;i<500;i++) { tm("ALL-parts", all); tm("computeAll", ()=>C.computeAllIndicators({open:o,high:h,low:l,close:c,volume:c},{periodsPerYear:365})); }
let sum=0; for (const [k,v] of Object.entries(T)) { if (!k.startsWith("ALL") && k!=="computeAll") sum+=v; console.log(k.padEnd(12),(v*1000).toFixed(1),"us"); } console.log("sum", (sum*1000).toFixed(1));
