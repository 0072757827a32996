import { describe, expect, it } from 'vitest';
import { PrivateUsageError, runPrivateSimulation } from './simulate-private.ts';

describe('runPrivateSimulation flags', () => {
  it('needs exactly one data source', async () => {
    await expect(runPrivateSimulation(['--dp'])).rejects.toThrow(/choose one data source/);
    await expect(runPrivateSimulation(['--synthetic', '--data', '/tmp', '--dp'])).rejects.toThrow(PrivateUsageError);
  });

  it('refuses the synthetic-only flags with --data, and a --data folder that is not there', async () => {
    await expect(runPrivateSimulation(['--data', '/tmp', '--dim', '8', '--dp'])).rejects.toThrow(/--dim applies to --synthetic data only/);
    await expect(runPrivateSimulation(['--data', '/nonexistent/facmic-data', '--encoding', 'int8'])).rejects.toThrow(PrivateUsageError);
  });
});
