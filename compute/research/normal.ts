/**
 * Standard normal distribution: Φ (CDF) and Φ⁻¹ (quantile), pure and deterministic.
 *
 *   normCdf(x) = Φ(x) = ½·erfc(−x/√2), via W. J. Cody's rational approximations of erf/erfc (CALERF,
 *                Math. Comp. 1969): relative error ≲ 1e-15 in both tails down to Φ ≈ 2e-308 (x ≈ −37.5);
 *                below that the result is subnormal and keeps only the bits a subnormal has.
 *   normInv(p) = Φ⁻¹(p), Wichura's AS241 PPND16 (Applied Statistics 37, 1988), the algorithm behind
 *                CPython's statistics.NormalDist.inv_cdf: relative error ~1e-16 before rounding.
 * Special values: Φ(±∞) = 1 / 0, Φ⁻¹(0) = −∞, Φ⁻¹(1) = +∞; NaN or p outside [0, 1] gives NaN.
 *
 * Why not ½·erfc(−x/√2) literally: erfc(z) needs exp(−z²), and z = x/√2 already carries a rounding error
 * that exp(−z²) amplifies by 2z² (≈ 7e-15 relative at x = −8, worse further out). The tail is therefore
 * computed as Cody's scaled ratio erfc(z)·exp(z²), which is smooth and insensitive to that error, times
 * exp(−x²/2) evaluated in x itself with Cody's splitting trick: x = x₁ + x₂ with x₁ = ⌊16x⌋/16, whose
 * square is exact, so exp(−x²/2) = exp(−x₁²/2)·exp(−(x − x₁)(x + x₁)/2) loses nothing to cancellation.
 */

// Coefficients verbatim from Cody's CALERF (netlib specfun). erf(y) = y·A(y²)/B(y²) for |y| ≤ 0.46875.
const ERF_A = [3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2, 3.20937758913846947e3, 1.85777706184603153e-1];
const ERF_B = [2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3];
// erfc(y)·exp(y²) = C(y)/D(y) for 0.46875 < y ≤ 4.
const ERFC_C = [
  5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2,
  1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3, 2.15311535474403846e-8,
];
const ERFC_D = [
  1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3, 3.29079923573345963e3,
  4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3,
];
// erfc(y)·exp(y²) = (1/√π − z·P(z)/Q(z))/y with z = 1/y², for y > 4.
const ERFC_P = [
  3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4,
  1.63153871373020978e-2,
];
const ERFC_Q = [2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3];
const INV_SQRT_PI = 5.6418958354775628695e-1;

/** erf(y) for |y| ≤ 0.46875 (Cody's first interval). */
function erfSmall(y: number): number {
  const ysq = y * y;
  let num = ERF_A[4] * ysq;
  let den = ysq;
  for (let i = 0; i < 3; i++) {
    num = (num + ERF_A[i]) * ysq;
    den = (den + ERF_B[i]) * ysq;
  }
  return (y * (num + ERF_A[3])) / (den + ERF_B[3]);
}

/** erfc(y)·exp(y²) for y > 0.46875 (Cody's second and third intervals, without the exp factor). */
function erfcScaled(y: number): number {
  if (y <= 4) {
    let num = ERFC_C[8] * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + ERFC_C[i]) * y;
      den = (den + ERFC_D[i]) * y;
    }
    return (num + ERFC_C[7]) / (den + ERFC_D[7]);
  }
  const z = 1 / (y * y);
  let num = ERFC_P[5] * z;
  let den = z;
  for (let i = 0; i < 4; i++) {
    num = (num + ERFC_P[i]) * z;
    den = (den + ERFC_Q[i]) * z;
  }
  return (INV_SQRT_PI - (z * (num + ERFC_P[4])) / (den + ERFC_Q[4])) / y;
}

/** Φ(x), the standard normal CDF. */
export function normCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const a = Math.abs(x);
  const y = a * Math.SQRT1_2;
  if (y <= 0.46875) return 0.5 + 0.5 * erfSmall(x * Math.SQRT1_2);
  // Φ(−38.5) ≈ 1e-324 is below the smallest subnormal; the cut also keeps ∞ − ∞ out of the split.
  let tail = 0;
  if (a < 38.5) {
    const a1 = Math.trunc(a * 16) / 16;
    tail = 0.5 * erfcScaled(y) * Math.exp(-0.5 * a1 * a1) * Math.exp(-0.5 * (a - a1) * (a + a1));
  }
  return x < 0 ? tail : 1 - tail;
}

// Coefficients verbatim from AS241 PPND16; index i multiplies r^i (B, D, F have a leading 1).
const PPND_A = [
  3.3871328727963666080e0, 1.3314166789178437745e2, 1.9715909503065514427e3, 1.3731693765509461125e4,
  4.5921953931549871457e4, 6.7265770927008700853e4, 3.3430575583588128105e4, 2.5090809287301226727e3,
];
const PPND_B = [
  1, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3, 2.1213794301586595867e4,
  3.9307895800092710610e4, 2.8729085735721942674e4, 5.2264952788528545610e3,
];
const PPND_C = [
  1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0, 3.64784832476320460504e0,
  1.27045825245236838258e0, 2.41780725177450611770e-1, 2.27238449892691845833e-2, 7.74545014278341407640e-4,
];
const PPND_D = [
  1, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1, 1.48103976427480074590e-1,
  1.51986665636164571966e-2, 5.47593808499534494600e-4, 1.05075007164441684324e-9,
];
const PPND_E = [
  6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0, 2.96560571828504891230e-1,
  2.65321895265761230930e-2, 1.24266094738807843860e-3, 2.71155556874348757815e-5, 2.01033439929228813265e-7,
];
const PPND_F = [
  1, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2, 7.86869131145613259100e-4,
  1.84631831751005468180e-5, 1.42151175831644588870e-7, 2.04426310338993978564e-15,
];

/** Degree-7 polynomial in Horner form, c[0] + c[1]·r + … + c[7]·r⁷ (AS241's evaluation order). */
function poly7(c: readonly number[], r: number): number {
  return ((((((c[7] * r + c[6]) * r + c[5]) * r + c[4]) * r + c[3]) * r + c[2]) * r + c[1]) * r + c[0];
}

/** Φ⁻¹(p), the standard normal quantile. */
export function normInv(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : Number.NaN;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * poly7(PPND_A, r)) / poly7(PPND_B, r);
  }
  // The smaller tail area: 1 − p is exact for p ≥ ½ (Sterbenz), so no precision is lost near 1.
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let z: number;
  if (r <= 5) {
    r -= 1.6;
    z = poly7(PPND_C, r) / poly7(PPND_D, r);
  } else {
    r -= 5;
    z = poly7(PPND_E, r) / poly7(PPND_F, r);
  }
  return q < 0 ? -z : z;
}
