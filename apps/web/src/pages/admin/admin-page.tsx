import { useEffect, useId, useMemo, useState } from 'react';
import type { CoordinatorInfo } from '@facmic/protocol';
import { ModelBadge, ModelMeaning } from '../../components/model-meaning.tsx';
import { TechnicalDetails } from '../../components/technical-details.tsx';
import { Badge, Field, Notice } from '../../components/ui.tsx';
import { useAdminSession } from '../../lib/admin-session.ts';
import { TOKEN_REFUSED } from '../../lib/error-words.ts';
import { AdminApi } from './admin-api.ts';
import { CreateFederationForm } from './create-federation-form.tsx';
import { FederationView } from './federation-view.tsx';
import { useAdminLive } from './use-admin-live.ts';

function selectedFromUrl(): string | null {
  return new URLSearchParams(window.location.search).get('f');
}

export function AdminPage() {
  const session = useAdminSession();
  if (session.checking) return <p className="muted">Checking the sign-in…</p>;
  if (session.token === null) return <TokenForm onToken={session.signIn} problem={session.problem} />;
  return <Dashboard token={session.token} onSignOut={session.signOut} onRefused={session.refused} />;
}

function TokenForm({ onToken, problem }: { onToken: (token: string, remember: boolean) => void; problem: string | null }) {
  const id = useId();
  const [value, setValue] = useState('');
  const [remember, setRemember] = useState(false);
  const [empty, setEmpty] = useState(false);
  return (
    <div className="stack" style={{ maxWidth: '36rem' }}>
      <h1>Coordinator dashboard</h1>
      <form
        className="card"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const token = value.trim();
          setEmpty(token === '');
          if (token !== '') onToken(token, remember);
        }}
      >
        <Field
          label="Admin token"
          htmlFor={id}
          help="Printed by the coordinator when it starts (npm start), or set with FACMIC_ADMIN_TOKEN."
          error={empty ? 'Paste the admin token first.' : problem}
        >
          <input id={id} type="password" value={value} onChange={(e) => { setValue(e.target.value); }} autoComplete="current-password" />
        </Field>
        <label className="check">
          <input type="checkbox" checked={remember} onChange={(e) => { setRemember(e.target.checked); }} />
          Remember on this computer
        </label>
        <div className="row" style={{ marginTop: '0.75rem' }}>
          <button type="submit">Open dashboard</button>
        </div>
      </form>
    </div>
  );
}

function Dashboard({ token, onSignOut, onRefused }: { token: string; onSignOut: () => void; onRefused: (problem: string) => void }) {
  const api = useMemo(() => new AdminApi(window.location.origin, token), [token]);
  const [selectedId, setSelectedId] = useState<string | null>(selectedFromUrl);
  const [creating, setCreating] = useState(false);
  const [info, setInfo] = useState<CoordinatorInfo | null>(null);
  const live = useAdminLive(api, token, selectedId);
  const selectId = useId();

  useEffect(() => {
    api.info().then(setInfo, () => {
      // Shown through the live connection's problems.
    });
  }, [api]);

  // Without a choice in the address, open the demo federation, else the newest one.
  useEffect(() => {
    if (selectedId !== null || live.federations.length === 0) return;
    const demo = live.federations.find((f) => f.id === info?.demoFederationId);
    const newest = [...live.federations].sort((a, b) => b.createdAt - a.createdAt)[0];
    const pick = demo ?? newest;
    if (pick) setSelectedId(pick.id);
  }, [selectedId, live.federations, info]);

  useEffect(() => {
    if (selectedId === null) return;
    const url = new URL(window.location.href);
    url.searchParams.set('f', selectedId);
    window.history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`);
  }, [selectedId]);

  useEffect(() => {
    if (live.authProblem !== null) onRefused(TOKEN_REFUSED);
  }, [live.authProblem, onRefused]);

  return (
    <div className="stack">
      <div className="card-header">
        <h1>Coordinator dashboard</h1>
        {live.connected ? <Badge tone="ok">Live</Badge> : <Badge tone="warn">Reconnecting…</Badge>}
        <span className="spacer" />
        <button type="button" className="secondary small" onClick={onSignOut}>
          Sign out
        </button>
      </div>
      {live.connectionProblem !== null && !live.connected && (
        <Notice tone="warn">
          <p>Live updates paused: the dashboard lost its connection to the coordinator and reconnects by itself.</p>
          <TechnicalDetails>{live.connectionProblem}</TechnicalDetails>
        </Notice>
      )}
      {info && (
        <p className="small muted" data-testid="encoder-note">
          Image model: <strong>{info.encoder.modelId}</strong> <ModelBadge encoder={info.encoder} /> <ModelMeaning encoder={info.encoder} />
        </p>
      )}
      <div className="row">
        <label htmlFor={selectId} className="visually-hidden">
          Federation
        </label>
        <select
          id={selectId}
          value={selectedId ?? ''}
          onChange={(e) => {
            setCreating(false);
            setSelectedId(e.target.value === '' ? null : e.target.value);
          }}
          style={{ maxWidth: '28rem', marginTop: 0 }}
          data-testid="federation-select"
        >
          {selectedId === null && <option value="">Choose a federation…</option>}
          {[...live.federations]
            .sort((a, b) => b.createdAt - a.createdAt)
            .map((f) => (
              <option key={f.id} value={f.id}>
                {f.name} ({f.status}, round {f.round}/{f.totalRounds})
              </option>
            ))}
        </select>
        <button
          type="button"
          onClick={() => {
            setCreating(true);
          }}
        >
          New federation
        </button>
      </div>
      {creating ? (
        <CreateFederationForm
          api={api}
          onCreated={(detail) => {
            setCreating(false);
            setSelectedId(detail.summary.id);
            live.refresh();
          }}
          onCancel={() => {
            setCreating(false);
          }}
        />
      ) : live.selected ? (
        <FederationView api={api} federation={live.selected} onChanged={live.refresh} />
      ) : live.loadProblem !== null ? (
        <Notice tone="error" title="This federation could not be loaded">
          <p>{live.loadProblem}</p>
        </Notice>
      ) : selectedId !== null ? (
        <p className="muted">Loading…</p>
      ) : (
        <Notice tone="info" title="No federation yet">
          <p>Create one with “New federation”.</p>
        </Notice>
      )}
    </div>
  );
}
