"""Independent reference values for rdp-accountant.test.ts and analytic-gaussian.test.ts (numpy + scipy).

Run: python3 packages/privacy/src/dp/accountant-reference.py

- `tfp_eps` mirrors TensorFlow Privacy's rdp_accountant._compute_eps (and Opacus's get_privacy_spent): the conversion
  of Canonne, Kamath & Steinke 2020 (Prop. 12) over a list of orders; `compute_rdp(q=1)` is alpha / (2 sigma^2).
- `balle_wang_delta` is Theorem 8 of Balle & Wang 2018 (the analytic Gaussian mechanism), with scipy's normal CDF,
  and `balle_wang_eps` inverts it with brentq.
"""
import math

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

OPACUS_ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


def compute_rdp_no_sampling(sigma, steps, orders):
    return np.array([steps * a / (2 * sigma**2) for a in orders])


def tfp_eps(orders, rdp, delta):
    best = (math.inf, None)
    for a, r in zip(orders, rdp):
        if delta**2 + math.expm1(-r) >= 0:
            eps = 0.0
        elif a > 1.01:
            eps = r + math.log1p(-1 / a) - math.log(delta * a) / (a - 1)
        else:
            eps = math.inf
        if eps < best[0]:
            best = (eps, a)
    return max(0.0, best[0]), best[1]


def classic_eps(orders, rdp, delta):
    values = [r - math.log(delta) / (a - 1) for a, r in zip(orders, rdp)]
    i = int(np.argmin(values))
    return values[i], orders[i]


def balle_wang_delta(eps, mu):
    return norm.cdf(mu / 2 - eps / mu) - math.exp(eps) * norm.cdf(-mu / 2 - eps / mu)


def balle_wang_eps(mu, delta):
    return brentq(lambda e: balle_wang_delta(e, mu) - delta, 0, 500, xtol=1e-14)


if __name__ == '__main__':
    print('TF Privacy test: constant rdp 1.1 over orders 2..32, delta 1e-5 ->', tfp_eps(range(2, 33), [1.1] * 31, 1e-5))
    for sigma, rounds, delta in [(1.0, 1, 1e-5), (1.1, 50, 1e-5), (5.0, 50, 1e-5), (20.0, 200, 1e-6)]:
        rdp = compute_rdp_no_sampling(sigma, rounds, OPACUS_ALPHAS)
        print(f'sigma {sigma} rounds {rounds} delta {delta}: improved', tfp_eps(OPACUS_ALPHAS, rdp, delta), 'classic', classic_eps(OPACUS_ALPHAS, rdp, delta))
    fine = [0.001 * i for i in range(1001, 100000)]
    print('sigma 4.530877117, fine orders, delta 1e-6 ->', tfp_eps(fine, compute_rdp_no_sampling(4.530877117, 1, fine), 1e-6))
    for mu, delta in [(1.0, 1e-5), (0.25, 1e-5), (2.0, 1e-6), (math.sqrt(50) / 5.0, 1e-5)]:
        print(f'analytic Gaussian mu {mu!r} delta {delta}: eps', repr(balle_wang_eps(mu, delta)))
    for eps, mu in [(1.0, 1.0), (0.5, 0.5), (3.0, 2.0)]:
        print(f'analytic Gaussian delta(eps={eps}, mu={mu}) =', repr(balle_wang_delta(eps, mu)))
    for x in [-3.0, -0.5, 0.0, 0.7, 1.9, 2.0, 5.0, 10.0, 26.0]:
        print(f'erfc({x}) =', repr(math.erfc(x)))
