import { useEffect, useId, useMemo, useState } from 'react';
import { buildInviteLink, coordinatorInfoSchema, type CoordinatorInfo, type FederationSummary } from '@facmic/protocol';
import { Badge, Notice } from '../components/ui.tsx';
import {
  DEMO_HOSPITALS,
  demoHospitalName,
  demoHospitalUrl,
  demoInvitesKey,
  demoRunStatusLine,
  isDemoRunOver,
  newDemoRunConfirmation,
  parseSavedDemoInvites,
  type DemoInvite,
} from '../lib/demo-run.ts';
import { AdminApi } from './admin/admin-api.ts';

const TOKEN_KEY = 'facmic.admin.token';

function savedDemoInvites(federationId: string | null): DemoInvite[] {
  if (federationId === null) return [];
  try {
    return parseSavedDemoInvites(localStorage.getItem(demoInvitesKey(federationId)), federationId);
  } catch {
    return [];
  }
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

/**
 * Opens a demo hospital in a new tab. False when the browser kept it from opening (a tab opened long after the click,
 * once the coordinator had prepared a new run, counts as a pop-up).
 */
function openTab(url: string): boolean {
  if (typeof navigator.userActivation === 'object' && !navigator.userActivation.isActive) return false;
  const tab = window.open(url, '_blank');
  if (!tab) return false;
  tab.opener = null;
  return true;
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
      {info && (
        <DemoPanel
          federationId={info.demoFederationId}
          onRunStarted={(id) => {
            setInfo({ ...info, demoFederationId: id });
          }}
        />
      )}
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

/** Which image model this coordinator uses, and what that means for accuracy, in plain words (said once). */
function ModelStatement({ info }: { info: CoordinatorInfo }) {
  const { source, modelId, featureDim, hash } = info.encoder;
  return (
    <>
      <p>
        Image model: <strong data-testid="landing-model">{modelId}</strong>{' '}
        {source === 'tiny' ? <Badge tone="warn">test model</Badge> : source === 'mirror' ? <Badge tone="ok">the paper’s CLIP</Badge> : <Badge>chosen by the admin</Badge>}
      </p>
      <p className="small" data-testid="landing-model-note">
        {source === 'tiny' ? (
          <>
            A tiny CLIP with random weights, generated because no real model was found: everything runs, but accuracy numbers mean nothing. <code>npm run models:fetch</code> gets
            the paper’s CLIP.
          </>
        ) : source === 'mirror' ? (
          'CLIP ViT-B/16 from this coordinator’s mirror, as in the paper: accuracy is meaningful.'
        ) : (
          'The model named by the coordinator’s settings (FACMIC_MODEL).'
        )}
      </p>
      <p className="small muted">
        {featureDim}-dimensional features, model hash {hash.slice(0, 12)}
      </p>
    </>
  );
}

function DemoPanel({ federationId, onRunStarted }: { federationId: string | null; onRunStarted: (federationId: string) => void }) {
  const id = useId();
  const [token, setToken] = useState<string | null>(adminToken);
  const [tokenInput, setTokenInput] = useState('');
  const [invites, setInvites] = useState<DemoInvite[]>(() => savedDemoInvites(federationId));
  const [invitesOf, setInvitesOf] = useState(federationId);
  const [virtualCount, setVirtualCount] = useState('2');
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState<'hospitals' | 'virtual' | 'run' | null>(null);
  const api = useMemo(() => (token === null ? null : new AdminApi(window.location.origin, token)), [token]);
  const [summary, setSummary] = useState<FederationSummary | null>(null);
  // A new run: its own invites (none yet, or those this browser made for it).
  if (invitesOf !== federationId) {
    setInvitesOf(federationId);
    setInvites(savedDemoInvites(federationId));
  }

  // The current run's state, refreshed while this page is open.
  useEffect(() => {
    if (!api || federationId === null) return;
    let stopped = false;
    const load = () => {
      api.getFederation(federationId).then(
        (detail) => {
          if (!stopped) setSummary(detail.summary);
        },
        () => {
          // Shown when an action fails; the status line just stays as it was.
        },
      );
    };
    load();
    const timer = setInterval(load, 3000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, federationId]);
  const demo = summary?.id === federationId ? summary : null;
  const over = isDemoRunOver(demo);

  const fail = (error: unknown) => {
    setBusy(null);
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Error && 'code' in error && error.code === 'UNAUTHORIZED') {
      sessionStorage.removeItem(TOKEN_KEY);
      setToken(null);
      setProblem('The admin token was not accepted. Paste the one printed by npm start.');
    } else setProblem(message);
  };

  /** Creates the run's missing demo invites (kept in this browser: a token is shown once) and opens the first. */
  const openHospitals = async (admin: AdminApi, runId: string, have: DemoInvite[]): Promise<void> => {
    const created = await Promise.all(Array.from({ length: Math.max(0, DEMO_HOSPITALS - have.length) }, (_, i) => admin.createInvite(runId, demoHospitalName(have.length + i))));
    const next = [...have, ...created.map((c) => ({ name: c.site.name, link: buildInviteLink(window.location.origin, runId, c.token) }))];
    localStorage.setItem(demoInvitesKey(runId), JSON.stringify(next));
    setInvitesOf(runId);
    setInvites(next);
    setBusy(null);
    // A click may open one tab; the other hospitals are buttons below.
    const first = next[0];
    const opened = first !== undefined && openTab(demoHospitalUrl(first, 0));
    setDone(
      opened
        ? `${first.name} opened in a new tab. Open the other hospitals below, each in its own tab.`
        : 'The demo hospitals are ready. Open each one below in its own tab.',
    );
  };

  const createHospitals = () => {
    if (!api || federationId === null) return;
    setBusy('hospitals');
    setProblem(null);
    setDone(null);
    openHospitals(api, federationId, invites).catch(fail);
  };

  const startRun = () => {
    if (!api) return;
    const question = newDemoRunConfirmation(demo);
    if (question !== null && !window.confirm(question)) return;
    setBusy('run');
    setProblem(null);
    setDone(null);
    api
      .startDemoRun()
      .then(async (started) => {
        const runId = started.federation.summary.id;
        setSummary(started.federation.summary);
        onRunStarted(runId);
        await openHospitals(api, runId, []);
      })
      .catch(fail);
  };

  const addVirtual = () => {
    if (!api || federationId === null) return;
    setBusy('virtual');
    setProblem(null);
    setDone(null);
    api.addVirtualSites(federationId, Number(virtualCount)).then((sites) => {
      setBusy(null);
      setDone(`${sites.length} virtual hospital${sites.length === 1 ? '' : 's'} joined: ${sites.map((s) => s.name).join(', ')}. Follow them on the dashboard.`);
    }, fail);
  };

  const dashboard = federationId === null ? '/admin' : `/admin?f=${federationId}`;
  const startButton = (primary: boolean) => (
    <button type="button" className={primary ? undefined : 'secondary'} onClick={startRun} disabled={busy !== null}>
      {federationId === null ? 'Start a demo run' : 'Start a new demo run'}
    </button>
  );

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="demo-panel">
      <h2 id={`${id}-title`}>Try the demo</h2>
      <p>
        {federationId === null ? 'This coordinator has no demo run. Start one: ' : 'A demo federation runs here. '}
        open three demo hospitals, each in its own tab with generated images in its own look (brightness, contrast, tint, noise: the “domain shift” between hospitals’ scanners),
        or let the coordinator run virtual hospitals beside it. Then watch the rounds on the <a href={dashboard}>dashboard</a>.
      </p>
      {demo && (
        <p className="small" data-testid="demo-status">
          {demoRunStatusLine(demo)}
        </p>
      )}
      {problem !== null && (
        <Notice tone="error">
          <p>{problem}</p>
        </Notice>
      )}
      {busy === 'run' && (
        <Notice tone="info" title="Preparing a new demo run" live>
          <p>The coordinator encodes the run’s generated reference and test images; this takes a few seconds.</p>
        </Notice>
      )}
      {done !== null && (
        <Notice tone="ok" live>
          <p>{done}</p>
        </Notice>
      )}
      {over && demo && (
        <Notice tone="info" title="This demo run is over">
          <p>
            {demo.status === 'stopped' ? `It was stopped at round ${demo.round}.` : `Its ${demo.totalRounds} rounds are done.`} Start a new run: a fresh demo federation with the same
            settings, with its own demo hospitals. This run stays on the <a href={dashboard}>dashboard</a>.
          </p>
          {token !== null && startButton(true)}
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
      ) : federationId === null ? (
        <div className="row">{startButton(true)}</div>
      ) : (
        <div className="stack">
          {!over && (
            <div className="row">
              {invites.length < DEMO_HOSPITALS && (
                <button type="button" onClick={createHospitals} disabled={busy !== null}>
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
              <button type="button" className="secondary" onClick={addVirtual} disabled={busy !== null}>
                Add virtual hospitals
              </button>
              <span className="spacer" />
              {startButton(false)}
            </div>
          )}
          {invites.length > 0 && (
            <ul className="row" style={{ listStyle: 'none', padding: 0, margin: 0 }} data-testid="demo-hospitals">
              {invites.map((invite, index) => (
                <li key={invite.link}>
                  <a className="button secondary" href={demoHospitalUrl(invite, index)} target="_blank" rel="noopener">
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
