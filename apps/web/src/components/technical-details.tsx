import type { ReactNode } from 'react';

/**
 * Technical detail for the admin who helps a clinician (device reasons, model fingerprints, error codes, commands):
 * closed by default, under one summary wording everywhere.
 */
export function TechnicalDetails({ children, summary = 'Technical details (for the admin)', testId }: { children: ReactNode; summary?: string; testId?: string }) {
  return (
    <details className="technical-details" data-testid={testId}>
      <summary>{summary}</summary>
      <div className="small">{children}</div>
    </details>
  );
}
