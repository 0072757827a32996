/** Plain-text tables for simulation results. */
import type { RoundResult, SimulationResult } from './types.ts';

function percent(value: number): string {
  return (100 * value).toFixed(1).padStart(5);
}

export function roundHeader(siteNames: readonly string[], globalSite: string): string {
  const siteColumns = siteNames.map((name) => name.slice(0, 11).padStart(11)).join(' ');
  return `round  ${siteColumns}  ${`global ${globalSite}`.slice(0, 18).padStart(18)}  ${'mean loss'.padStart(9)}  ${'pseudo'.padStart(6)}  ${'time'.padStart(7)}\n` +
    `       ${siteNames.map(() => '  acc/bacc').map((s) => s.padStart(11)).join(' ')}  ${'acc/bacc'.padStart(18)}  ${''.padStart(9)}  ${'acc'.padStart(6)}`;
}

export function roundLine(result: RoundResult): string {
  const siteColumns = result.sites.map((site) => `${percent(site.accuracy)}/${percent(site.balancedAccuracy)}`.padStart(11)).join(' ');
  const losses = result.sites.map((site) => site.meanLoss).filter((loss): loss is number => loss !== null);
  const loss = losses.length === 0 ? '-' : (losses.reduce((a, b) => a + b, 0) / losses.length).toFixed(4);
  const time = result.durationMs === 0 ? '-' : `${(result.durationMs / 1000).toFixed(1)}s`;
  const pseudo = result.diagnostics.pseudoLabelAccuracy === null ? '-' : percent(result.diagnostics.pseudoLabelAccuracy);
  return `${String(result.round).padStart(5)}  ${siteColumns}  ${`${percent(result.global.accuracy)}/${percent(result.global.balancedAccuracy)}`.padStart(18)}  ${loss.padStart(9)}  ${pseudo.padStart(6)}  ${time.padStart(7)}`;
}

export function finalSummary(result: SimulationResult): string {
  const last = result.rounds[result.rounds.length - 1];
  if (last === undefined) return 'no rounds';
  const meanSite = (key: 'accuracy' | 'balancedAccuracy'): number => last.sites.reduce((sum, site) => sum + site[key], 0) / last.sites.length;
  return [
    `method ${result.method}: after round ${last.round}`,
    `  global site ${result.globalSite} (${result.globalTestSize} test samples, ${result.globalEvaluation}): accuracy ${(100 * last.global.accuracy).toFixed(1)}%, balanced accuracy ${(100 * last.global.balancedAccuracy).toFixed(1)}%`,
    `  training sites' test splits (mean): accuracy ${(100 * meanSite('accuracy')).toFixed(1)}%, balanced accuracy ${(100 * meanSite('balancedAccuracy')).toFixed(1)}%`,
    `  wall time ${(result.wallTimeMs / 1000).toFixed(1)} s`,
  ].join('\n');
}
