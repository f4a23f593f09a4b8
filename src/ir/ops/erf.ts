// The error function in double precision. JavaScript has no Math.erf; this follows W. J. Cody,
// "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631-638,
// whose near-minimax rational functions are accurate to about 18 digits before rounding.

/** erf(x) = x * R(x^2) for |x| <= 0.46875 (numerator degree 4, denominator 4). */
const SMALL_NUM = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947];
const SMALL_NUM_TOP = 0.185777706184603153;
const SMALL_DEN = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];

/** erfc(x) = exp(-x^2) * R(x) for 0.46875 < x <= 4 (numerator degree 8, denominator 8). */
const MID_NUM = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725,
];
const MID_NUM_TOP = 2.15311535474403846e-8;
const MID_DEN = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];

/** erfc(x) = exp(-x^2) / x * (1/sqrt(pi) - R(1/x^2) / x^2) for x > 4 (degree 5 over 5). */
const LARGE_NUM = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766, 6.58749161529837803e-4,
];
const LARGE_NUM_TOP = 0.0163153871373020978;
const LARGE_DEN = [
  2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185,
];

const INV_SQRT_PI = 0.56418958354775628695;
const SMALL_LIMIT = 0.46875;
/** Below this, x*x would only lose precision (and may underflow); erf(x) = 2x/sqrt(pi) there. */
const TINY = 1.11e-16;
/** At and beyond this, erfc(x) underflows to zero in double precision. */
const ERFC_ZERO = 26.543;

/**
 * (top z^n + num[0] z^(n-1) + ... + num[n-1]) / (z^n + den[0] z^(n-1) + ... + den[n-1]) with
 * n = den.length, by Horner's rule in the order of Cody's coefficient tables.
 */
function rational(z: number, top: number, num: readonly number[], den: readonly number[]): number {
  let n = top * z;
  let d = z;
  for (let i = 0; i < den.length - 1; i++) {
    n = (n + num[i]!) * z;
    d = (d + den[i]!) * z;
  }
  return (n + num[num.length - 1]!) / (d + den[den.length - 1]!);
}

/**
 * exp(-y*y) with y*y split as hi + lo, hi = (floor(16y)/16)^2 exact: the rounding error of y*y,
 * magnified by the steep exponential, would otherwise dominate erfc for large y.
 */
function expNegSquare(y: number): number {
  const head = Math.trunc(y * 16) / 16;
  const tail = (y - head) * (y + head);
  return Math.exp(-head * head) * Math.exp(-tail);
}

/** erfc(y) for y > SMALL_LIMIT. */
function erfcPositive(y: number): number {
  if (y <= 4) return expNegSquare(y) * rational(y, MID_NUM_TOP, MID_NUM, MID_DEN);
  if (y >= ERFC_ZERO) return 0;
  const z = 1 / (y * y);
  const r = z * rational(z, LARGE_NUM_TOP, LARGE_NUM, LARGE_DEN);
  return expNegSquare(y) * ((INV_SQRT_PI - r) / y);
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  if (y <= SMALL_LIMIT) {
    const z = y > TINY ? y * y : 0;
    return x * rational(z, SMALL_NUM_TOP, SMALL_NUM, SMALL_DEN);
  }
  const r = 1 - erfcPositive(y);
  return x < 0 ? -r : r;
}
