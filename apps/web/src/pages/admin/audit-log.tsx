import { useState } from 'react';
import type { AuditEntry, SiteSummary } from '@facmic/protocol';
import { describeDetails } from './dashboard-data.ts';

function actorName(actor: string, sites: readonly SiteSummary[]): string {
  if (actor.startsWith('site:')) {
    const id = actor.slice(5);
    return sites.find((s) => s.id === id)?.name ?? actor;
  }
  return actor;
}

/** Who did what and when, newest first. */
export function AuditLog({ entries, sites }: { entries: readonly AuditEntry[]; sites: readonly SiteSummary[] }) {
  const [filter, setFilter] = useState('');
  const needle = filter.trim().toLowerCase();
  const siteName = (id: string) => sites.find((s) => s.id === id)?.name ?? id;
  const shown = [...entries]
    .reverse()
    .filter((e) => needle === '' || `${e.action} ${actorName(e.actor, sites)} ${describeDetails(e.details, siteName)}`.toLowerCase().includes(needle));
  return (
    <section className="card" aria-labelledby="audit-title" data-testid="audit-log">
      <div className="card-header">
        <h2 id="audit-title">Audit log</h2>
        <span className="spacer" />
        <label htmlFor="audit-filter" className="visually-hidden">
          Filter the audit log
        </label>
        <input id="audit-filter" type="search" placeholder="Filter…" value={filter} onChange={(e) => { setFilter(e.target.value); }} style={{ maxWidth: '14rem', marginTop: 0 }} />
      </div>
      {shown.length === 0 ? (
        <p className="muted">Nothing recorded yet.</p>
      ) : (
        <div className="table-scroll log">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.id} data-testid="audit-entry" data-action={e.action} data-actor={e.actor}>
                  <td className="small" style={{ whiteSpace: 'nowrap' }}>
                    {new Date(e.at).toLocaleString()}
                  </td>
                  <td>{actorName(e.actor, sites)}</td>
                  <td>{e.action}</td>
                  <td className="small">{describeDetails(e.details, siteName)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
