import { useEffect, useId, useMemo, useState } from 'react';
import { buildInviteLink, coordinatorInfoSchema, parseInviteLink, type CoordinatorInfo, type FederationSummary } from '@facmic/protocol';
import { Badge, Notice } from '../components/ui.tsx';
import { AdminApi } from './admin/admin-api.ts';

const TOKEN_KEY = 'facmic.admin.token';
const DEMO_HOSPITALS = 3;

interface DemoInvite {
  readonly name: string;
  readonly link: string;
}

function demoInvitesKey(federationId: string): string {
  return `facmic.demo.invites.${federationId}`;
}

function savedDemoInvites(federationId: string): DemoInvite[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(demoInvitesKey(federationId)) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((i): i is DemoInvite => typeof (i as DemoInvite).link === 'string' && parseInviteLink((i as DemoInvite).link) !== null) : [];
  } catch {
    return [];
  }
}

/** A demo hospital's page: its invite, plus the generated images of hospital `index`. */
export function demoHospitalUrl(link: string, index: number): string {
  const url = new URL(link);
  url.searchParams.set('demo', String(index));
  return url.toString();
}

function adminToken(): string | null {
  const hash = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (hash !== null && hash !== '') {
    sessionStorage.setItem(TOKEN_KEY, hash);
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    return hash;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
}

export function LandingPage() {
  const [info, setInfo] = useState<CoordinatorInfo | null>(null);
  const [infoProblem, setInfoProblem] = useState<string | null>(null);
  useEffect(() => {
    fetch('/api/info')
      .then(async (r) => {
        if (!r.ok) throw new Error(`the coordinator answered ${r.status}`);
        return coordinatorInfoSchema.parse(await r.json());
      })
      .then(setInfo, (error: unknown) => {
        setInfoProblem(error instanceof Error ? error.message : String(error));
      });
  }, []);

  return (
    <div className="stack">
      <section className="hero">
        <h1>Train a shared medical image classifier without sharing images</h1>
        <p>
          facmic is federated learning in the browser, after FACMIC (Wu, Desrosiers and Chaddad, MICCAI 2024). Each hospital opens a web page and picks a folder of images. The page
          runs a frozen CLIP image model and trains a small attention module on them, right there. Only that module’s numbers (about half a million, 2 MB) go to this coordinator,
          which averages them, weighted by how many images each hospital has, and sends the result back. Images never leave the hospital’s browser.
        </p>
      </section>
      {info?.demoFederationId != null && <DemoPanel federationId={info.demoFederationId} />}
      <div className="grid grid-3">
        <div className="card">
          <h2>Hospitals</h2>
          <p>Open the invite link you received, choose your image folder, and leave the tab open: it takes part in every round by itself.</p>
          <a className="button" href="/site">
            Open the hospital page
          </a>
        </div>
        <div className="card">
          <h2>Admins</h2>
          <p>Create a federation, send invite links, follow the rounds, accuracy and traffic live, and download the global model.</p>
          <a className="button" href="/admin">
            Open the dashboard
          </a>
        </div>
        <div className="card">
          <h2>This coordinator</h2>
          {info ? <ModelStatement info={info} /> : infoProblem !== null ? (
            <p className="small">The coordinator did not answer ({infoProblem}). Is it running?</p>
          ) : (
            <p className="muted">Asking the coordinator…</p>
          )}
        </div>
      </div>
    </div>
  );
}

/** Which image model this coordinator uses, and what that means for accuracy, in plain words. */
function ModelStatement({ info }: { info: CoordinatorInfo }) {
  const source = info.encoder.source;
  return (
    <>
      <p>
        Image model: <strong data-testid="landing-model">{info.encoder.modelId}</strong>{' '}
        {source === 'tiny' ? <Badge tone="warn">test model</Badge> : source === 'mirror' ? <Badge tone="ok">the paper’s CLIP</Badge> : <Badge>chosen by the admin</Badge>}
      </p>
      <p className="small">
        {source === 'tiny'
          ? 'A tiny CLIP with random weights, generated because no real model was found: everything runs, but accuracy numbers mean nothing.'
          : source === 'mirror'
            ? 'CLIP ViT-B/16 from this coordinator’s mirror, as in the paper: accuracy is meaningful.'
            : 'The model named by the coordinator’s settings (FACMIC_MODEL).'}
      </p>
      <p className="small muted">{info.encoder.note}</p>
    </>
  );
}

function DemoPanel({ federationId }: { federationId: string }) {
  const id = useId();
  const [token, setToken] = useState<string | null>(adminToken);
  const [tokenInput, setTokenInput] = useState('');
  const [invites, setInvites] = useState<DemoInvite[]>(() => savedDemoInvites(federationId));
  const [virtualCount, setVirtualCount] = useState('2');
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const api = useMemo(() => (token === null ? null : new AdminApi(window.location.origin, token)), [token]);
  const [demo, setDemo] = useState<FederationSummary | null>(null);

  // The demo federation's state, refreshed while this page is open.
  useEffect(() => {
    if (!api) return;
    let stopped = false;
    const load = () => {
      api.getFederation(federationId).then(
        (detail) => {
          if (!stopped) setDemo(detail.summary);
        },
        () => {
          // Shown when an action fails; the status line just stays as it was.
        },
      );
    };
    load();
    const timer = setInterval(load, 5000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, federationId]);
  const over = demo !== null && (demo.status === 'finished' || demo.status === 'stopped');

  const fail = (error: unknown) => {
    setBusy(false);
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Error && 'code' in error && error.code === 'UNAUTHORIZED') {
      sessionStorage.removeItem(TOKEN_KEY);
      setToken(null);
      setProblem('The admin token was not accepted. Paste the one printed by npm start.');
    } else setProblem(message);
  };

  const createHospitals = () => {
    if (!api) return;
    setBusy(true);
    setProblem(null);
    const start = invites.length;
    Promise.all(
      Array.from({ length: DEMO_HOSPITALS - start }, (_, i) => api.createInvite(federationId, `Demo hospital ${start + i + 1}`)),
    ).then((created) => {
      const next = [...invites, ...created.map((c) => ({ name: c.site.name, link: buildInviteLink(window.location.origin, federationId, c.token) }))];
      localStorage.setItem(demoInvitesKey(federationId), JSON.stringify(next));
      setInvites(next);
      setBusy(false);
      // Browsers let one click open one tab; the other two are links below.
      const first = next[0];
      if (first) window.open(demoHospitalUrl(first.link, 0), '_blank', 'noopener');
    }, fail);
  };

  const addVirtual = () => {
    if (!api) return;
    setBusy(true);
    setProblem(null);
    api.addVirtualSites(federationId, Number(virtualCount)).then((sites) => {
      setBusy(false);
      setDone(`${sites.length} virtual hospital${sites.length === 1 ? '' : 's'} joined: ${sites.map((s) => s.name).join(', ')}. Follow them on the dashboard.`);
    }, fail);
  };

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="demo-panel">
      <h2 id={`${id}-title`}>Try the demo</h2>
      <p>
        A demo federation is ready. Open three demo hospitals, each in its own tab with generated images in its own look (brightness, contrast, tint, noise: the “domain shift” between
        hospitals’ scanners), or let the coordinator run virtual hospitals beside it. Then watch the rounds on the <a href={`/admin?f=${federationId}`}>dashboard</a>.
      </p>
      {problem !== null && (
        <Notice tone="error">
          <p>{problem}</p>
        </Notice>
      )}
      {done !== null && (
        <Notice tone="ok">
          <p>{done}</p>
        </Notice>
      )}
      {demo && (
        <p className="small" data-testid="demo-status">
          {demo.name}: {over ? demo.status : `round ${demo.round} of ${demo.totalRounds}`}, {demo.sitesOnline} of {demo.sitesTotal} hospitals online
          {demo.latestGlobalMetrics ? `, global test accuracy ${(demo.latestGlobalMetrics.accuracy * 100).toFixed(1)} %` : ''}.
        </p>
      )}
      {over && (
        <Notice tone="info" title="The demo federation is over">
          <p>
            Its {demo.totalRounds} rounds are done{demo.status === 'stopped' ? ' (it was stopped)' : ''}. Create a new federation on the <a href="/admin">dashboard</a>, or start the coordinator
            again with an empty data folder for a fresh demo.
          </p>
        </Notice>
      )}
      {token === null ? (
        <form
          className="row"
          style={{ alignItems: 'flex-end' }}
          onSubmit={(e) => {
            e.preventDefault();
            const t = tokenInput.trim();
            if (t === '') return;
            sessionStorage.setItem(TOKEN_KEY, t);
            setToken(t);
          }}
        >
          <div style={{ flex: '1 1 16rem' }}>
            <label htmlFor={`${id}-token`}>Admin token</label>
            <span id={`${id}-token-help`} className="field-help">
              Printed by npm start. Demo hospitals need invites, which only an admin can create.
            </span>
            <input id={`${id}-token`} aria-describedby={`${id}-token-help`} type="password" value={tokenInput} onChange={(e) => { setTokenInput(e.target.value); }} autoComplete="off" />
          </div>
          <button type="submit">Continue</button>
        </form>
      ) : (
        <div className="stack">
          <div className="row">
            {invites.length < DEMO_HOSPITALS && (
              <button type="button" onClick={createHospitals} disabled={busy}>
                Open three demo hospitals
              </button>
            )}
            <input
              id={`${id}-virtual`}
              type="number"
              min={1}
              max={32}
              value={virtualCount}
              onChange={(e) => {
                setVirtualCount(e.target.value);
              }}
              style={{ width: '5rem', marginTop: 0 }}
              aria-label="How many virtual hospitals"
            />
            <button type="button" className="secondary" onClick={addVirtual} disabled={busy}>
              Add virtual hospitals
            </button>
          </div>
          {invites.length > 0 && (
            <ul className="row" style={{ listStyle: 'none', padding: 0, margin: 0 }} data-testid="demo-hospitals">
              {invites.map((invite, index) => (
                <li key={invite.link}>
                  <a className="button secondary" href={demoHospitalUrl(invite.link, index)} target="_blank" rel="noopener">
                    Open {invite.name}
                  </a>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
