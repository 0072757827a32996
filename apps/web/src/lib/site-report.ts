/** The hospital's report as CSV: one row per round with local and global results on the local test split. */
import { toCsv } from './csv.ts';
import type { RoundRecord } from './site-session.ts';

export const SITE_REPORT_HEADER = [
  'federation',
  'site',
  'round',
  'global_model_accuracy',
  'global_model_balanced_accuracy',
  'local_model_accuracy',
  'local_model_balanced_accuracy',
  'test_samples',
  'train_steps',
  'train_seconds',
  'train_loss',
  'bytes_sent',
  'bytes_received',
  'submitted_at',
] as const;

export function siteReportCsv(federation: string, site: string, rounds: readonly RoundRecord[]): string {
  const rows = rounds.map((r) => [
    federation,
    site,
    r.round,
    r.globalModel?.accuracy,
    r.globalModel?.balancedAccuracy,
    r.localModel?.accuracy,
    r.localModel?.balancedAccuracy,
    r.localModel?.samples ?? r.globalModel?.samples,
    r.steps,
    r.trainSeconds,
    r.trainLoss,
    r.bytesSent,
    r.bytesReceived,
    r.submittedAt === null ? null : new Date(r.submittedAt).toISOString(),
  ]);
  return toCsv(SITE_REPORT_HEADER, rows);
}
