import { useEffect, useId, useMemo, useState } from 'react';
import { coordinatorInfoSchema, type CoordinatorInfo, type DemoRun, type SiteSummary } from '@facmic/protocol';
import { ModelBadge, ModelMeaning } from '../components/model-meaning.tsx';
import { Badge, Field, FieldError, Notice } from '../components/ui.tsx';
import { TechnicalDetails } from '../components/technical-details.tsx';
import { useAdminSession } from '../lib/admin-session.ts';
import { adminProblemSentence, isUnauthorized, TOKEN_REFUSED } from '../lib/error-words.ts';
import { demoHospitalViews, demoRunStatusLine, isDemoRunOver, newDemoRunConfirmation } from '../lib/demo-run.ts';
import { AdminApi } from './admin/admin-api.ts';

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
      {info && <DemoPanel hasDemo={info.demoFederationId !== null} />}
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
            <>
              <p className="small">The coordinator did not answer. Is it running?</p>
              <TechnicalDetails summary="Technical details">{infoProblem}</TechnicalDetails>
            </>
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
  const { modelId, featureDim, hash } = info.encoder;
  return (
    <>
      <p>
        Image model: <strong data-testid="landing-model">{modelId}</strong>{' '}
        <ModelBadge encoder={info.encoder} />
      </p>
      <p className="small" data-testid="landing-model-note">
        <ModelMeaning encoder={info.encoder} />
      </p>
      <TechnicalDetails summary="Technical details">
        {featureDim}-dimensional features, model fingerprint <span className="mono">{hash.slice(0, 12)}</span>
      </TechnicalDetails>
    </>
  );
}

interface DemoRunView {
  readonly run: DemoRun;
  readonly sites: readonly SiteSummary[];
}

function DemoPanel({ hasDemo }: { hasDemo: boolean }) {
  const id = useId();
  const session = useAdminSession();
  const { token, refused } = session;
  const [tokenInput, setTokenInput] = useState('');
  const [virtualCount, setVirtualCount] = useState('2');
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState<'virtual' | 'run' | null>(null);
  const api = useMemo(() => (token === null ? null : new AdminApi(window.location.origin, token)), [token]);
  // The current run (null: none; undefined: not known yet) and its hospitals' presence, refreshed while the page is open.
  const [current, setCurrent] = useState<DemoRunView | null | undefined>(undefined);
  const [refresh, setRefresh] = useState(0);

  const fail = (error: unknown) => {
    setBusy(null);
    if (isUnauthorized(error)) {
      setProblem(null);
      refused(TOKEN_REFUSED);
    } else setProblem(adminProblemSentence(error));
  };

  useEffect(() => {
    if (!api) return;
    let stopped = false;
    const load = () => {
      api
        .currentDemoRun()
        .then(async (run) => ({ run, sites: run ? await api.listSites(run.federation.summary.id) : [] }))
        .then(
          ({ run, sites }) => {
            if (!stopped) setCurrent(run ? { run, sites } : null);
          },
          (error: unknown) => {
            if (!stopped && isUnauthorized(error)) fail(error);
            // Other failures: the status line stays as it was until the next refresh.
          },
        );
    };
    load();
    const timer = setInterval(load, 3000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
    // The refresh loop restarts with a new token or after a new run (`fail` only sets state).
  }, [api, refresh]);

  const run = current?.run ?? null;
  const summary = run?.federation.summary ?? null;
  const over = isDemoRunOver(summary);
  const hospitals = run ? demoHospitalViews(run.hospitals, current?.sites ?? []) : [];

  const startRun = () => {
    if (!api) return;
    const question = newDemoRunConfirmation(summary);
    if (question !== null && !window.confirm(question)) return;
    setBusy('run');
    setProblem(null);
    setDone(null);
    api.startDemoRun().then(({ run: started }) => {
      setBusy(null);
      setCurrent({ run: started, sites: [] });
      setRefresh((n) => n + 1);
      const first = started.hospitals[0];
      // A tab opened long after the click counts as a pop-up: open it only while the click still counts.
      const opened = first !== undefined && openTab(first.link);
      setDone(
        opened
          ? `${started.federation.summary.name} is ready. ${first.name} opened in a new tab; open the other hospitals below, each in its own tab.`
          : `${started.federation.summary.name} is ready. Open its hospitals below, each in its own tab.`,
      );
    }, fail);
  };

  const addVirtual = () => {
    if (!api || !summary) return;
    setBusy('virtual');
    setProblem(null);
    setDone(null);
    api.addVirtualSites(summary.id, Number(virtualCount)).then((sites) => {
      setBusy(null);
      setDone(`${sites.length} virtual hospital${sites.length === 1 ? '' : 's'} joined: ${sites.map((s) => s.name).join(', ')}. Follow them on the dashboard.`);
    }, fail);
  };

  const noRun = token === null ? !hasDemo : current === null;
  const dashboard = summary ? `/admin?f=${summary.id}` : '/admin';
  const startButton = (primary: boolean) => (
    <button type="button" className={primary ? undefined : 'secondary'} onClick={startRun} disabled={busy !== null}>
      {noRun ? 'Start a demo run' : 'Start a new demo run'}
    </button>
  );

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="demo-panel">
      <h2 id={`${id}-title`}>Try the demo</h2>
      <p>
        {noRun ? 'This coordinator has no demo run yet. ' : ''}
        Open the three demo hospitals, each in its own tab: each one generates its own images, in its own look (brightness, contrast, tint, noise: the “domain shift” between
        hospitals’ scanners), and takes part by itself. Or let the coordinator run virtual hospitals beside it. Then watch the rounds on the <a href={dashboard}>dashboard</a>.
      </p>
      {summary && (
        <p className="small" data-testid="demo-status">
          {demoRunStatusLine(summary)}
        </p>
      )}
      {busy === 'run' && (
        <Notice tone="info" title="Preparing a new demo run" live>
          <p>The coordinator encodes the run’s generated reference and test images; this takes a few seconds.</p>
        </Notice>
      )}
      {done !== null && !over && (
        <Notice tone="ok" live>
          <p>{done}</p>
        </Notice>
      )}
      {over && summary && (
        <Notice tone="info" title="This demo run is over">
          <p>
            {summary.status === 'stopped' ? `It was stopped at round ${summary.round}.` : `Its ${summary.totalRounds} rounds are done.`} A new run is a fresh demo federation with the
            same settings and its own three hospitals; this one stays on the <a href={dashboard}>dashboard</a>.
          </p>
          {token !== null && startButton(true)}
        </Notice>
      )}
      {session.checking ? (
        <p className="muted">Checking the sign-in…</p>
      ) : token === null ? (
        <form
          className="row"
          style={{ alignItems: 'flex-end' }}
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const t = tokenInput.trim();
            if (t === '') {
              refused('Paste the admin token first: npm start printed it.');
              return;
            }
            setProblem(null);
            session.signIn(t);
          }}
        >
          <div style={{ flex: '1 1 16rem' }}>
            <Field label="Admin token" htmlFor={`${id}-token`} help="Printed by npm start. Only an admin may open demo hospitals and start runs." error={session.problem}>
              <input id={`${id}-token`} type="password" value={tokenInput} onChange={(e) => { setTokenInput(e.target.value); }} autoComplete="off" />
            </Field>
          </div>
          <button type="submit">Continue</button>
        </form>
      ) : current === undefined ? (
        <p className="muted">Asking the coordinator for the demo run…</p>
      ) : run === null ? (
        <div className="row">{startButton(true)}</div>
      ) : (
        !over && (
          <div className="stack">
            {hospitals.length > 0 ? (
              <ul className="row" style={{ listStyle: 'none', padding: 0, margin: 0 }} data-testid="demo-hospitals">
                {hospitals.map((hospital) => (
                  <li key={hospital.siteId} className="row" style={{ gap: '0.4rem' }}>
                    <a className={hospital.online ? 'button secondary' : 'button'} href={hospital.link} target="_blank" rel="noopener">
                      Open {hospital.name}
                    </a>
                    {hospital.online && <Badge tone="ok">open in a tab</Badge>}
                  </li>
                ))}
              </ul>
            ) : (
              <Notice tone="info" title="This run has no demo hospitals">
                <p>It was made by an older coordinator. Start a new demo run to get three.</p>
              </Notice>
            )}
            <div className="row">
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
          </div>
        )
      )}
      {/* What went wrong with the last action, under the actions. */}
      {problem !== null && <FieldError>{problem}</FieldError>}
    </section>
  );
}
