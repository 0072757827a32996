import { useId, useState } from 'react';
import type { AuditEntry, SiteSummary } from '@facmic/protocol';
import { useLatestFirst } from '../../components/ui.tsx';
import { describeAuditEntry, isAdminAction } from './dashboard-data.ts';

/** The newest rows each group shows before "show all". */
const LATEST = 6;

function actorName(actor: string, sites: readonly SiteSummary[]): string {
  if (actor.startsWith('site:')) {
    const id = actor.slice(5);
    return sites.find((s) => s.id === id)?.name ?? 'a hospital';
  }
  return actor === 'admin' ? 'an admin' : actor === 'coordinator' ? 'the coordinator' : actor;
}

/** The clock time for today's entries, the date and time for older ones. */
function when(at: number, now: Date): string {
  const date = new Date(at);
  return date.toDateString() === now.toDateString() ? date.toLocaleTimeString() : date.toLocaleString();
}

/** Who did what and when, in words: what admins did apart from what rounds and hospitals did, newest first. */
export function AuditLog({ entries, sites }: { entries: readonly AuditEntry[]; sites: readonly SiteSummary[] }) {
  const id = useId();
  const [filter, setFilter] = useState('');
  const needle = filter.trim().toLowerCase();
  const siteName = (siteId: string) => sites.find((s) => s.id === siteId)?.name ?? siteId;
  const matching = entries.filter((e) => needle === '' || `${describeAuditEntry(e, siteName)} ${actorName(e.actor, sites)}`.toLowerCase().includes(needle));
  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="audit-log">
      <div className="card-header">
        <h2 id={`${id}-title`}>Audit log</h2>
        <span className="spacer" />
        <label htmlFor={`${id}-filter`} className="visually-hidden">
          Filter the audit log
        </label>
        <input id={`${id}-filter`} type="search" placeholder="Filter…" value={filter} onChange={(e) => { setFilter(e.target.value); }} style={{ maxWidth: '14rem', marginTop: 0 }} />
      </div>
      <AuditGroup title="Admin actions" noun="admin actions" entries={matching.filter(isAdminAction)} sites={sites} siteName={siteName} empty="No admin action yet." />
      <AuditGroup
        title="Rounds and hospitals"
        noun="round and hospital events"
        entries={matching.filter((e) => !isAdminAction(e))}
        sites={sites}
        siteName={siteName}
        empty="No round has started and no hospital has joined yet."
      />
    </section>
  );
}

function AuditGroup({
  title,
  noun,
  entries,
  sites,
  siteName,
  empty,
}: {
  title: string;
  noun: string;
  entries: readonly AuditEntry[];
  sites: readonly SiteSummary[];
  siteName: (id: string) => string;
  empty: string;
}) {
  const id = useId();
  const { shown, toggle } = useLatestFirst(entries, LATEST, noun);
  const now = new Date();
  return (
    <div className="audit-group" role="group" aria-labelledby={id}>
      <h3 id={id} className="small">
        {title}
      </h3>
      {shown.length === 0 ? (
        <p className="muted small">{empty}</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">{title}, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.id} data-testid="audit-entry" data-action={e.action} data-actor={e.actor} title={`by ${actorName(e.actor, sites)}`}>
                  <td className="small" style={{ whiteSpace: 'nowrap' }}>
                    <time dateTime={new Date(e.at).toISOString()}>{when(e.at, now)}</time>
                  </td>
                  <td>{describeAuditEntry(e, siteName)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {toggle}
    </div>
  );
}
