import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildDemoHospitalLink,
  buildInviteLink,
  checkProtocolVersion,
  createFederationRequestSchema,
  ERROR_CODE_LIST,
  MIN_PROTOCOL_VERSION,
  PAPER_TRAINING,
  parseInviteLink,
  parseSubmission,
  promptsFor,
  PROTOCOL_VERSION,
  readConnectError,
  readDemoHospitalIndex,
  submissionSchema,
} from './index.ts';

describe('protocol version', () => {
  it('accepts the current version and answers too old / too new with a typed code', () => {
    expect(checkProtocolVersion(PROTOCOL_VERSION)).toEqual({ ok: true });
    const old = checkProtocolVersion(MIN_PROTOCOL_VERSION - 1);
    expect(old).toMatchObject({ ok: false, code: 'CLIENT_TOO_OLD' });
    const future = checkProtocolVersion(PROTOCOL_VERSION + 1);
    expect(future).toMatchObject({ ok: false, code: 'SERVER_TOO_OLD' });
    expect(checkProtocolVersion(3, { version: 5, min: 4 })).toMatchObject({ ok: false, code: 'CLIENT_TOO_OLD' });
  });

  it('reads a typed refusal out of a connect_error and ignores network errors', () => {
    const err = Object.assign(new Error('refused'), { data: { code: 'BAD_TOKEN', message: 'no', serverProtocolVersion: 1, minProtocolVersion: 1 } });
    expect(readConnectError(err)?.code).toBe('BAD_TOKEN');
    expect(readConnectError(new Error('xhr poll error'))).toBeNull();
    expect(readConnectError(Object.assign(new Error('x'), { data: { code: 'NOT_A_CODE', message: '' } }))).toBeNull();
  });
});

describe('federation settings', () => {
  it("fills in the paper's defaults", () => {
    const settings = createFederationRequestSchema.parse({ name: 'Brain', classNames: ['glioma', 'meningioma'] });
    expect(settings.training).toEqual(PAPER_TRAINING);
    expect(PAPER_TRAINING).toEqual({
      stepsPerRound: 199,
      localEpochs: null,
      batchSize: 32,
      optimizer: { name: 'adam', learningRate: 5e-5, betas: [0.9, 0.98], epsilon: 1e-6, weightDecay: 0.02 },
    });
    expect(settings.rounds).toBe(50);
    expect(settings.promptTemplate).toBe('a picture of a {class}');
    expect(promptsFor(settings.promptTemplate, settings.classNames)).toEqual(['a picture of a glioma', 'a picture of a meningioma']);
  });

  it('reads settings stored with the former step cap, and needs steps or epochs', () => {
    const legacy = createFederationRequestSchema.parse({ name: 'x', classNames: ['a', 'b'], training: { localEpochs: 1, maxStepsPerRound: null, batchSize: 8 } });
    expect(legacy.training).toMatchObject({ stepsPerRound: null, localEpochs: 1, batchSize: 8 });
    expect(createFederationRequestSchema.parse({ name: 'x', classNames: ['a', 'b'], training: { maxStepsPerRound: 3 } }).training).toMatchObject({ stepsPerRound: 3, localEpochs: 1 });
    expect(createFederationRequestSchema.parse({ name: 'x', classNames: ['a', 'b'], training: { localEpochs: 2 } }).training).toMatchObject({ stepsPerRound: 199, localEpochs: 2 });
    const neither = createFederationRequestSchema.safeParse({ name: 'x', classNames: ['a', 'b'], training: { stepsPerRound: null } });
    expect(neither.success).toBe(false);
    expect(neither.error?.issues[0]?.path).toEqual(['training', 'stepsPerRound']);
  });

  it('refuses duplicate classes, templates without {class} and unknown fields', () => {
    expect(createFederationRequestSchema.safeParse({ name: 'x', classNames: ['a', 'a'] }).success).toBe(false);
    expect(createFederationRequestSchema.safeParse({ name: 'x', classNames: ['a', 'b'], promptTemplate: 'an image' }).success).toBe(false);
    expect(createFederationRequestSchema.safeParse({ name: 'x', classNames: ['a', 'b'], admin: true }).success).toBe(false);
  });

  it('paces rounds only when asked, and only below the deadline', () => {
    expect(createFederationRequestSchema.parse({ name: 'x', classNames: ['a', 'b'] }).minRoundSeconds).toBe(0);
    expect(createFederationRequestSchema.parse({ name: 'x', classNames: ['a', 'b'], minRoundSeconds: 6, roundDeadlineSeconds: 60 }).minRoundSeconds).toBe(6);
    const tooLong = createFederationRequestSchema.safeParse({ name: 'x', classNames: ['a', 'b'], minRoundSeconds: 60, roundDeadlineSeconds: 60 });
    expect(tooLong.success).toBe(false);
    expect(tooLong.error?.issues[0]).toMatchObject({ path: ['minRoundSeconds'], message: 'the shortest round must be shorter than the round deadline' });
  });
});

describe('submissions', () => {
  const base = {
    federationId: 'demo',
    round: 1,
    sampleCount: 10,
    weights: new Uint8Array(8),
    metrics: { trainLoss: 0.5, steps: 3, trainSeconds: 1, globalModel: null, localModel: { accuracy: 0.5, balancedAccuracy: 0.5, samples: 4 } },
  };

  it('accepts Node Buffers and browser ArrayBuffers as weights', () => {
    expect(submissionSchema.parse(base).weights).toBeInstanceOf(Uint8Array);
    expect(submissionSchema.parse({ ...base, weights: new ArrayBuffer(8) }).weights.byteLength).toBe(8);
    expect(submissionSchema.parse({ ...base, weights: Buffer.alloc(8) }).weights.byteLength).toBe(8);
  });

  it.each([0, -3, 1.5, 1e12, 1e308, -1e308, 2 ** 53, NaN, Infinity, '10', null, [3], { n: 3 }])('gives sample count %s its own code, also when it fails several checks', (sampleCount) => {
    expect(parseSubmission({ ...base, sampleCount })).toMatchObject({ ok: false, code: 'BAD_SAMPLE_COUNT' });
  });

  it('keeps MALFORMED_MESSAGE when another field fails too', () => {
    expect(parseSubmission({ ...base, sampleCount: 1e308, weights: 'AAAA' })).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
  });

  it('calls other defects malformed and names the field', () => {
    const r = parseSubmission({ ...base, weights: 'AAAA' });
    expect(r).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
    expect(!r.ok && r.message).toContain('weights');
    expect(parseSubmission({ ...base, metrics: { ...base.metrics, trainLoss: Infinity } })).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
  });
});

describe('invite links', () => {
  it('builds and parses <url>/site?f=<federation>&t=<token>', () => {
    const link = buildInviteLink('http://10.0.0.5:3000/', 'demo-brain-tumor', 'abcdefghijklmnop_-12');
    expect(link).toBe('http://10.0.0.5:3000/site?f=demo-brain-tumor&t=abcdefghijklmnop_-12');
    expect(parseInviteLink(link)).toEqual({ coordinatorUrl: 'http://10.0.0.5:3000', federationId: 'demo-brain-tumor', token: 'abcdefghijklmnop_-12' });
  });

  it('keeps a base path, reads the fragment form and refuses malformed links', () => {
    expect(parseInviteLink('https://h.org/fl/site#f=a1&t=abcdefghijklmnopq')?.coordinatorUrl).toBe('https://h.org/fl');
    expect(parseInviteLink('https://h.org/site?f=A%20B&t=abcdefghijklmnopq')).toBeNull();
    expect(parseInviteLink('https://h.org/site?f=a&t=short')).toBeNull();
    expect(parseInviteLink('https://h.org/admin?f=a&t=abcdefghijklmnopq')).toBeNull();
    expect(parseInviteLink('not a url')).toBeNull();
  });

  it('marks demo hospital n with demo=n, still an invite', () => {
    const link = buildDemoHospitalLink(buildInviteLink('http://h:3000', 'demo-brain-tumor', 'abcdefghijklmnop_-12'), 2);
    expect(link).toBe('http://h:3000/site?f=demo-brain-tumor&t=abcdefghijklmnop_-12&demo=2');
    expect(parseInviteLink(link)?.federationId).toBe('demo-brain-tumor');
    expect(readDemoHospitalIndex(new URL(link).searchParams)).toBe(2);
    for (const bad of ['', '-1', '1.5', '64', 'x', '1e1']) expect(readDemoHospitalIndex(new URLSearchParams({ demo: bad })), bad).toBeNull();
    expect(readDemoHospitalIndex(new URLSearchParams())).toBeNull();
    expect(() => buildDemoHospitalLink(link, 64)).toThrow(RangeError);
  });
});

describe('error code table', () => {
  it('is documented in README.md, every code once', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const documented = [...readme.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...ERROR_CODE_LIST].sort());
  });
});

describe('round position', () => {
  it('defines the open round and the newest model once, for the coordinator and the dashboard', async () => {
    const { latestModelRound, openRound, roundUnderWay } = await import('./round-position.ts');
    const at = (status: 'waiting' | 'training' | 'aggregating' | 'paused' | 'stopped' | 'finished', pausedFrom: 'waiting' | 'training' | null = null) => ({ status, pausedFrom, round: 4 });
    expect([at('training'), at('paused', 'training'), at('paused', 'waiting'), at('aggregating'), at('waiting'), at('finished'), at('stopped')].map(openRound)).toEqual([4, 4, null, null, null, null, null]);
    expect([at('training'), at('paused', 'training'), at('aggregating'), at('paused', 'waiting'), at('waiting')].map(roundUnderWay)).toEqual([true, true, true, false, false]);
    expect([at('training'), at('aggregating'), at('paused', 'training'), at('waiting'), at('finished')].map(latestModelRound)).toEqual([3, 3, 3, 4, 4]);
  });
});
