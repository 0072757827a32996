import { useId, useState } from 'react';
import { buildInviteLink, parseInviteLink, readDemoHospitalIndex, tokenSchema, federationIdSchema } from '@facmic/protocol';
import { Field, Notice } from '../../components/ui.tsx';
import { findSession, latestSession, newSeed, type SiteSession } from '../../lib/site-session.ts';
import { HospitalSession } from './hospital-session.tsx';

type Device = SiteSession['device'];

function deviceFromUrl(params: URLSearchParams): Device | null {
  const value = params.get('device');
  return value === 'webgpu' || value === 'wasm' || value === 'auto' ? value : null;
}

/** The session this page opens: from the invite in the URL (resumed when this browser knows it) or the last one. */
function initialSession(): SiteSession | null {
  const params = new URLSearchParams(window.location.search);
  const invite = parseInviteLink(window.location.href);
  const now = Date.now();
  if (invite) {
    const known = findSession(localStorage, invite);
    const device = deviceFromUrl(params);
    if (known) return { ...known, device: device ?? known.device, updatedAt: now };
    return {
      ...invite,
      device: device ?? 'auto',
      demoSite: readDemoHospitalIndex(params),
      siteName: null,
      federationName: null,
      seed: newSeed(),
      createdAt: now,
      updatedAt: now,
      rounds: [],
    };
  }
  return null;
}

export function SitePage() {
  const [session, setSession] = useState<SiteSession | null>(initialSession);
  const [resumable] = useState(() => (session ? null : latestSession(localStorage)));
  if (session) {
    return (
      <HospitalSession
        key={session.token}
        initial={session}
        onLeave={() => {
          window.location.assign('/site');
        }}
      />
    );
  }
  return (
    <JoinForm
      resumable={resumable}
      onJoin={(s) => {
        const link = buildInviteLink(s.coordinatorUrl, s.federationId, s.token);
        const url = new URL(link);
        if (s.device !== 'auto') url.searchParams.set('device', s.device);
        window.history.replaceState(null, '', `${url.pathname}${url.search}`);
        setSession(s);
      }}
    />
  );
}

function JoinForm({ onJoin, resumable }: { onJoin: (session: SiteSession) => void; resumable: SiteSession | null }) {
  const ids = { link: useId(), url: useId(), fed: useId(), token: useId() };
  const [link, setLink] = useState('');
  const [manual, setManual] = useState({ url: window.location.origin, federationId: '', token: '' });
  /** What is wrong, at the field it concerns. */
  const [problem, setProblem] = useState<{ field: 'link' | 'url' | 'fed' | 'token'; message: string } | null>(null);
  const errorAt = (field: 'link' | 'url' | 'fed' | 'token') => (problem?.field === field ? problem.message : null);

  const fresh = (invite: { coordinatorUrl: string; federationId: string; token: string }): SiteSession => {
    const known = findSession(localStorage, invite);
    const now = Date.now();
    return known ?? { ...invite, device: 'auto', demoSite: null, siteName: null, federationName: null, seed: newSeed(), createdAt: now, updatedAt: now, rounds: [] };
  };

  const submitLink = (event: React.SyntheticEvent) => {
    event.preventDefault();
    const invite = parseInviteLink(link.trim());
    if (!invite) {
      setProblem({ field: 'link', message: 'This is not an invite link. It looks like https://coordinator.example/site?f=…&t=… — copy it again from the message you received, or enter the details beside.' });
      return;
    }
    onJoin(fresh(invite));
  };

  const submitManual = (event: React.SyntheticEvent) => {
    event.preventDefault();
    let origin: string;
    try {
      const url = new URL(manual.url.trim());
      origin = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    } catch {
      setProblem({ field: 'url', message: 'The coordinator address is not a web address. It starts with http:// or https://.' });
      return;
    }
    const fed = federationIdSchema.safeParse(manual.federationId.trim());
    if (!fed.success) {
      setProblem({ field: 'fed', message: 'The federation id is made of lowercase letters, digits and dashes, as in the invite.' });
      return;
    }
    const token = tokenSchema.safeParse(manual.token.trim());
    if (!token.success) {
      setProblem({ field: 'token', message: 'The site token is 16 or more letters, digits, dashes or underscores. Copy it from the invite without spaces.' });
      return;
    }
    onJoin(fresh({ coordinatorUrl: origin, federationId: fed.data, token: token.data }));
  };

  return (
    <div className="stack">
      <section className="hero">
        <h1>Join a federation as a hospital</h1>
        <p>
          Your images stay on this computer. This page turns them into features and trains a small model here; only that
          model’s numbers are shared with the coordinator.
        </p>
      </section>
      {resumable && (
        <Notice tone="info" title="Continue where you left off">
          <p>
            This browser took part in {resumable.federationName ?? resumable.federationId}
            {resumable.siteName !== null ? ` as ${resumable.siteName}` : ''}.
          </p>
          <button type="button" onClick={() => { onJoin({ ...resumable, updatedAt: Date.now() }); }}>
            Continue
          </button>
        </Notice>
      )}
      <div className="grid grid-2">
        <form className="card" onSubmit={submitLink} aria-labelledby={`${ids.link}-title`} noValidate>
          <h2 id={`${ids.link}-title`}>With an invite link</h2>
          <Field label="Invite link" htmlFor={ids.link} help="The link the coordinator’s admin sent you." error={errorAt('link')}>
            <input id={ids.link} type="url" value={link} onChange={(e) => { setLink(e.target.value); }} placeholder="https://…/site?f=…&t=…" required autoComplete="off" />
          </Field>
          <button type="submit">Open</button>
        </form>
        <form className="card" onSubmit={submitManual} aria-labelledby={`${ids.url}-title`} noValidate>
          <h2 id={`${ids.url}-title`}>Or enter the details</h2>
          <Field label="Coordinator address" htmlFor={ids.url} error={errorAt('url')}>
            <input id={ids.url} type="url" value={manual.url} onChange={(e) => { setManual({ ...manual, url: e.target.value }); }} required />
          </Field>
          <Field label="Federation id" htmlFor={ids.fed} error={errorAt('fed')}>
            <input id={ids.fed} type="text" value={manual.federationId} onChange={(e) => { setManual({ ...manual, federationId: e.target.value }); }} required autoComplete="off" spellCheck={false} />
          </Field>
          <Field label="Site token" htmlFor={ids.token} help="Secret to your hospital: do not share it." error={errorAt('token')}>
            <input id={ids.token} type="password" value={manual.token} onChange={(e) => { setManual({ ...manual, token: e.target.value }); }} required autoComplete="off" />
          </Field>
          <button type="submit">Open</button>
        </form>
      </div>
    </div>
  );
}
