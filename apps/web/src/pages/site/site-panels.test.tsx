/**
 * The hospital page's panels rendered to static markup: the words a clinician reads (issue 12: raw Markdown,
 * plurals, a classification presented as the final model's when it is not).
 */
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { coordinatorInfoFixture, federationFixture, roundFixture, sessionFixture } from '../../test/fixtures.ts';
import type { DeviceReport } from '../../worker/worker-messages.ts';
import { ClassifyPanel } from './classify-panel.tsx';
import { deviceSentence } from './device-panel.tsx';
import { FederationOverview } from './federation-overview.tsx';
import { RoundsPanel } from './rounds-panel.tsx';
import { INITIAL_SITE_VIEW, type SiteView } from './site-state.ts';

/** Visible text of rendered markup (tags removed, entities of quotes kept as characters). */
function textOf(html: string): string {
  return html.replace(/<[^>]+>/g, ' ').replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
}

describe('federation overview', () => {
  it('shows no raw Markdown from the coordinator’s model note', () => {
    const html = renderToStaticMarkup(<FederationOverview federation={federationFixture()} info={coordinatorInfoFixture('tiny')} />);
    expect(textOf(html)).not.toContain('`');
  });

  it('says “1 hospital”, not “1 hospitals”', () => {
    const one = textOf(renderToStaticMarkup(<FederationOverview federation={federationFixture({ quorum: 1 })} info={null} />));
    expect(one).toContain('at least 1 hospital per round');
    expect(one).not.toMatch(/\b1 hospitals\b/);
    const three = textOf(renderToStaticMarkup(<FederationOverview federation={federationFixture({ quorum: 3 })} info={null} />));
    expect(three).toContain('at least 3 hospitals per round');
  });
});

describe('rounds panel', () => {
  const dataset: NonNullable<SiteView['dataset']> = {
    source: 'encoded',
    counts: { train: 8, validation: 1, test: 1 },
    countsPerClass: [5, 5],
    encodedThisSession: 10,
    fromCache: 0,
    encodeSeconds: 2,
    failures: [],
    savedAt: 0,
  };

  it('counts the updates sent with the right number', () => {
    const federation = federationFixture({ quorum: 1 });
    const view: SiteView = { ...INITIAL_SITE_VIEW, federation, dataset, round: roundFixture({ participants: 1, submissions: 1 }) };
    const one = textOf(renderToStaticMarkup(<RoundsPanel view={view} session={sessionFixture()} federation={federation} />));
    expect(one).toContain('1 of 1 hospital has sent');
    expect(one).not.toMatch(/\b1 hospitals\b/);
    const several: SiteView = { ...view, round: roundFixture({ participants: 3, submissions: 1 }) };
    expect(textOf(renderToStaticMarkup(<RoundsPanel view={several} session={sessionFixture()} federation={federation} />))).toContain('1 of 3 hospitals has sent');
    const two: SiteView = { ...view, round: roundFixture({ participants: 3, submissions: 2 }) };
    expect(textOf(renderToStaticMarkup(<RoundsPanel view={two} session={sessionFixture()} federation={federation} />))).toContain('2 of 3 hospitals have sent');
  });
});

describe('classify panel', () => {
  it('does not present a result of an earlier round as the final model’s', () => {
    const federation = federationFixture();
    const view: SiteView = {
      ...INITIAL_SITE_VIEW,
      federation,
      globalModelRound: 50,
      finished: { reason: 'finished', rounds: [1, 2, 3, 4, 5] },
      classifications: [{ requestId: 1, name: 'scan.png', probabilities: [0.7, 0.3], model: { kind: 'shared', round: 5, final: false } }],
    };
    const text = textOf(renderToStaticMarkup(<ClassifyPanel view={view} federation={federation} onClassify={() => undefined} testModel={false} />));
    expect(text).toContain('model after round 5');
    expect(text).toContain('an earlier model');
    expect(text).toContain('Research use only — not for diagnosis');
    expect(text).not.toContain('test model: this result means nothing');
  });

  it('says that a result of the generated test model means nothing', () => {
    const federation = federationFixture();
    const view: SiteView = {
      ...INITIAL_SITE_VIEW,
      federation,
      globalModelRound: 3,
      classifications: [{ requestId: 1, name: 'scan.png', probabilities: [0.7, 0.3], model: { kind: 'shared', round: 3, final: false } }],
    };
    const text = textOf(renderToStaticMarkup(<ClassifyPanel view={view} federation={federation} onClassify={() => undefined} testModel />));
    expect(text).toContain('Uses the shared model after round 3');
    expect(text).toContain('test model: this result means nothing');
    expect(text).not.toContain('an earlier model');
  });
});

describe('device panel', () => {
  const report = (device: string, forced: boolean, adapter: string): DeviceReport => ({
    encoder: { device, reason: 'why', forced },
    tfjs: { backend: device, reason: 'why', notes: [] },
    webgpuAdapter: adapter,
    threads: false,
  });

  it('says where the model runs in a clinician’s words', () => {
    expect(deviceSentence(report('wasm', false, 'fallback adapter (google swiftshader)'))).toBe('This computer has no usable graphics card; the model runs on the processor (slower).');
    expect(deviceSentence(report('webgpu', false, 'hardware adapter (nvidia)'))).toBe('This computer’s graphics card runs the model (fast).');
    expect(deviceSentence(report('webgpu', true, 'fallback adapter (google swiftshader)'))).toMatch(/software stand-in/);
    expect(deviceSentence(report('wasm', true, 'hardware adapter (nvidia)'))).toMatch(/as the address asks/);
    for (const r of [report('wasm', false, 'fallback adapter (google swiftshader)'), report('webgpu', true, 'fallback adapter (google swiftshader)')]) {
      expect(deviceSentence(r)).not.toMatch(/WASM|tfjs|swiftshader|cross-origin/i);
    }
  });
});
