export * from './analytic-gaussian.ts';
export * from './dp-fedavg.ts';
export * from './gaussian.ts';
export * from './normal-distribution.ts';
export * from './rdp-accountant.ts';
