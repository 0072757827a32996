/**
 * The standard normal CDF with full double precision in both tails (the analytic Gaussian mechanism subtracts two
 * tail probabilities, so a few-digit approximation of erfc would not do): erf's everywhere-positive series below 2,
 * erfc's continued fraction (evaluated backwards, in log space) above.
 */
const SQRT_PI = Math.sqrt(Math.PI);

function erfSeries(x: number): number {
  // erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 * 3 * ... * (2n+1))
  let term = x;
  let sum = x;
  for (let n = 0; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 3);
    sum += term;
  }
  return ((2 / SQRT_PI) * Math.exp(-x * x)) * sum;
}

/** log erfc(x) for x >= 2: erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))). */
function logErfcContinuedFraction(x: number): number {
  let fraction = x;
  for (let n = 300; n >= 1; n--) fraction = x + n / 2 / fraction;
  return -x * x - Math.log(SQRT_PI) - Math.log(fraction);
}

/** log erfc(x), finite for every finite x. */
export function logErfc(x: number): number {
  if (x >= 2) return logErfcContinuedFraction(x);
  if (x >= 0) return Math.log1p(-erfSeries(x));
  return Math.log(2 - Math.exp(logErfc(-x)));
}

export function erfc(x: number): number {
  return Math.exp(logErfc(x));
}

/** log Phi(x), Phi the standard normal CDF: Phi(x) = erfc(-x / sqrt 2) / 2. */
export function logNormalCdf(x: number): number {
  return logErfc(-x / Math.SQRT2) - Math.LN2;
}

export function normalCdf(x: number): number {
  return Math.exp(logNormalCdf(x));
}
