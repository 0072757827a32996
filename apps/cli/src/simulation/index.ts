export type { EvaluationSummary, RoundDiagnostics, RoundResult, SimulationData, SimulationHooks, SimulationOptions, SimulationResult, SiteFeatures, SiteRoundResult, SiteSplit } from './types.ts';
export type { SyntheticOptions } from './synthetic.ts';
export { generateSyntheticData } from './synthetic.ts';
export { SimulationError, runSimulation } from './run-simulation.ts';
export { finalSummary, roundHeader, roundLine } from './report.ts';
