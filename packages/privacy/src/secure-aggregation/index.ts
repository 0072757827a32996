export * from './client.ts';
export * from './server.ts';
export * from './errors.ts';
export * from './threshold.ts';
