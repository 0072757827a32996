import { useId, useState } from 'react';
import type { InviteCreated, RoundSummary } from '@facmic/protocol';
import { Badge, CopyField, Field, FieldError } from '../../components/ui.tsx';
import { adminProblemSentence } from '../../lib/error-words.ts';
import { formatCount, formatRelative } from '../../lib/format.ts';
import type { AdminApi } from './admin-api.ts';
import { siteActivity } from './dashboard-data.ts';
import type { FederationLive } from './use-admin-live.ts';

/** Hospitals of the federation: live state, invites (create, copy, revoke) and virtual hospitals. */
export function SitesPanel({ api, federation, current, now, onChanged }: { api: AdminApi; federation: FederationLive; current: RoundSummary | null; now: number; onChanged: () => void }) {
  const id = useId();
  const { summary, sites } = federation;
  const [name, setName] = useState('');
  const [created, setCreated] = useState<InviteCreated[]>([]);
  /** What went wrong with an action, shown where it was done: the invite form, a site's row, virtual hospitals. */
  const [problem, setProblem] = useState<{ where: string; message: string } | null>(null);
  const [nameProblem, setNameProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [virtualCount, setVirtualCount] = useState('2');
  const terminal = summary.status === 'stopped' || summary.status === 'finished';

  const run = (where: string, work: Promise<unknown>, after?: () => void) => {
    setBusy(true);
    setProblem(null);
    work.then(
      () => {
        setBusy(false);
        after?.();
        onChanged();
      },
      (error: unknown) => {
        setBusy(false);
        setProblem({ where, message: adminProblemSentence(error) });
      },
    );
  };
  const problemAt = (where: string) => (problem?.where === where ? <FieldError>{problem.message}</FieldError> : null);

  const sorted = [...sites].sort((a, b) => a.createdAt - b.createdAt);
  // A revoked invite's link no longer works: it is not offered any more (revoked here or in another tab).
  const revoked = new Set(sites.filter((s) => s.revokedAt !== null).map((s) => s.id));
  const offered = created.filter((invite) => !revoked.has(invite.site.id));
  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="sites-panel">
      <div className="card-header">
        <h2 id={`${id}-title`}>Hospitals</h2>
        <span className="muted small">
          {summary.sitesOnline} online · {summary.sitesReady} ready · {summary.sitesTotal} invited
        </span>
      </div>
      {sorted.length === 0 ? (
        <p className="muted">No hospital yet. Create an invite link below and send it to each hospital.</p>
      ) : (
        <div className="table-scroll">
          <table data-testid="sites-table">
            <thead>
              <tr>
                <th scope="col">Hospital</th>
                <th scope="col">Now</th>
                <th scope="col" className="num">
                  Train / test images
                </th>
                <th scope="col" className="num">
                  Updates sent
                </th>
                <th scope="col">Last seen</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((site) => {
                const activity = siteActivity(site, summary, current, now);
                return (
                  <tr key={site.id} data-testid="site-row" data-site-id={site.id} data-activity={activity.activity}>
                    <th scope="row">
                      {site.name}
                      {site.virtual && (
                        <>
                          {' '}
                          <Badge>virtual</Badge>
                        </>
                      )}
                      {site.client !== null && (
                        <div className="small muted" style={{ fontWeight: 400 }}>
                          {site.client}
                        </div>
                      )}
                    </th>
                    <td>
                      <Badge tone={activity.tone}>{activity.label}</Badge>
                      {site.message !== null && site.phase === 'error' && <div className="small muted">{site.message}</div>}
                    </td>
                    <td className="num">
                      {site.trainSamples === null ? '–' : `${formatCount(site.trainSamples)} / ${formatCount(site.testSamples ?? 0)}`}
                    </td>
                    <td className="num" data-testid="site-submissions">
                      {site.submissions}
                    </td>
                    <td className="small">{site.online ? 'now' : site.lastSeenAt === null ? 'never' : formatRelative(site.lastSeenAt, now)}</td>
                    <td>
                      {site.revokedAt === null && (
                        <button
                          type="button"
                          className="danger small"
                          disabled={busy}
                          onClick={() => {
                            if (window.confirm(`Revoke the invite of ${site.name}? It is disconnected at once and cannot rejoin with this link.`)) {
                              run(site.id, api.revokeSite(summary.id, site.id), () => {
                                setCreated((list) => list.filter((invite) => invite.site.id !== site.id));
                              });
                            }
                          }}
                        >
                          Revoke
                        </button>
                      )}
                      {problemAt(site.id)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <form
        className="row"
        style={{ marginTop: '1rem', alignItems: 'flex-end' }}
        onSubmit={(e) => {
          e.preventDefault();
          const siteName = name.trim();
          if (siteName === '') {
            setNameProblem('Give the hospital a name, for example “Hospital A”.');
            return;
          }
          setNameProblem(null);
          setBusy(true);
          setProblem(null);
          api.createInvite(summary.id, siteName).then(
            (invite) => {
              setBusy(false);
              setName('');
              setCreated((list) => [invite, ...list]);
              onChanged();
            },
            (error: unknown) => {
              setBusy(false);
              setProblem({ where: 'invite', message: adminProblemSentence(error) });
            },
          );
        }}
      >
        <div style={{ flex: '1 1 14rem' }}>
          <Field label="New invite" htmlFor={`${id}-name`} help="A name for the hospital, shown here only." error={nameProblem}>
            <input
              id={`${id}-name`}
              type="text"
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                setNameProblem(null);
              }}
              placeholder="Hospital A"
              data-testid="invite-name"
            />
          </Field>
        </div>
        <button type="submit" disabled={busy || terminal}>
          Create invite link
        </button>
      </form>
      {problemAt('invite')}
      {offered.length > 0 && (
        <div className="notice notice-info" style={{ marginTop: '1rem' }} data-testid="created-invites">
          <strong className="notice-title">Invite links (shown once: copy them now)</strong>
          <p className="small">Send each link to its hospital over a trusted channel. Anyone with the link can take part as that hospital.</p>
          <ul style={{ listStyle: 'none', padding: 0, margin: 0 }}>
            {offered.map((invite) => (
              <li key={invite.site.id} style={{ marginBottom: '0.5rem' }} data-testid="invite-link-item">
                <div className="small">
                  <strong>{invite.site.name}</strong> ·{' '}
                  <a href={invite.link} target="_blank" rel="noreferrer">
                    open as this hospital
                  </a>
                </div>
                <CopyField value={invite.link} label={`invite link of ${invite.site.name}`} />
              </li>
            ))}
          </ul>
        </div>
      )}
      <details style={{ marginTop: '1rem' }}>
        <summary>Add virtual hospitals (demo)</summary>
        <p className="small muted">Hospitals simulated by the coordinator with generated images, each with its own look. Useful to try a federation without real sites.</p>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            run('virtual', api.addVirtualSites(summary.id, Number(virtualCount)));
          }}
        >
          <label htmlFor={`${id}-virtual`} className="visually-hidden">
            How many virtual hospitals
          </label>
          <input id={`${id}-virtual`} type="number" min={1} max={32} value={virtualCount} onChange={(e) => { setVirtualCount(e.target.value); }} style={{ width: '6rem', marginTop: 0 }} />
          <button type="submit" className="secondary" disabled={busy || terminal}>
            Add
          </button>
        </form>
        {problemAt('virtual')}
      </details>
    </section>
  );
}
