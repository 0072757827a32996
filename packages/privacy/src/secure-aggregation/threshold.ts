/**
 * The threshold t: the fewest sites whose shares rebuild a secret, hence the fewest survivors a round can finish with.
 * It must be a strict majority of the roster: with t <= n/2 a coordinator could tell one half of the sites that a
 * site dropped and the other half that it survived, and collect both of its secrets from two disjoint groups of
 * honest sites. A federation may ask for more (better protection against colluding sites, less tolerance of dropouts).
 */
export function isSafeThreshold(threshold: number, siteCount: number): boolean {
  return Number.isSafeInteger(threshold) && threshold >= 2 && threshold <= siteCount && 2 * threshold > siteCount;
}

/** floor(n / 2) + 1, at least 2: the default, tolerating the most dropouts a safe threshold allows. */
export function defaultThreshold(siteCount: number): number {
  return Math.max(2, Math.floor(siteCount / 2) + 1);
}

/** The roster's threshold for `siteCount` sites: the federation's setting raised to a strict majority when needed. */
export function effectiveThreshold(siteCount: number, setting?: number): number {
  return Math.max(defaultThreshold(siteCount), setting ?? 0);
}
