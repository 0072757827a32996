import { describe, expect, it } from 'vitest';
import { createFederationRequestSchema } from '@facmic/protocol';
import { buildRequest, checkForm, errorsFromRefusal, fieldOfPath, INITIAL_FORM, type FormState } from './federation-form.ts';

const filled: FormState = { ...INITIAL_FORM, name: 'Brain MRI', classes: 'glioma\npituitary' };

describe('the create-federation form', () => {
  it('says what each empty or wrong field needs, in words', () => {
    const errors = checkForm(INITIAL_FORM);
    expect(Object.keys(errors)).toEqual(['name', 'classes']);
    expect(errors.name).toMatch(/^Give the federation a name/);
    expect(errors.classes).toMatch(/at least two classes/);
    expect(checkForm({ ...filled, classes: 'glioma\nglioma' }).classes).toBe('“glioma” is listed twice: list each class once.');
    expect(checkForm({ ...filled, rounds: '2.5', minRound: '700', deadline: '600' })).toEqual({
      rounds: 'Give a whole number of rounds, from 1 to 10,000.',
      minRound: 'Make the shortest round shorter than the round deadline (600 s).',
    });
    expect(checkForm({ ...filled, referenceKind: 'folder' }).referencePath).toMatch(/folder’s path/);
    expect(checkForm(filled)).toEqual({});
  });

  it('builds a request the coordinator accepts, with the shortest round', async () => {
    const request = await buildRequest({ ...filled, minRound: '6', deadline: '60' });
    expect(request).toMatchObject({ name: 'Brain MRI', classNames: ['glioma', 'pituitary'], minRoundSeconds: 6, roundDeadlineSeconds: 60 });
    expect(createFederationRequestSchema.safeParse(request).success).toBe(true);
  });

  it('builds the privacy settings: secure aggregation with its threshold, differential privacy with its budget', async () => {
    expect(checkForm({ ...filled, secureAggregation: true, threshold: '1', dpOn: true, dpEpsilon: '0' })).toEqual({
      threshold: 'Leave it empty for “more than half”, or give a whole number of hospitals from 2 to 100.',
      dpEpsilon: 'Give a number above 0 (smaller is more private; 1 to 10 is common).',
    });
    const request = await buildRequest({ ...filled, secureAggregation: true, threshold: '3', dpOn: true, dpNoise: 'distributed' });
    expect(request.privacy).toEqual({
      secureAggregation: { enabled: true, threshold: 3 },
      differentialPrivacy: { epsilon: 8, delta: 1e-5, clipNorm: 0.05, noise: 'distributed' },
      updateEncoding: 'float32',
    });
    expect(createFederationRequestSchema.safeParse(request).success).toBe(true);
    // Distributed noise needs secure aggregation: without it the form asks the coordinator for central noise.
    expect((await buildRequest({ ...filled, dpOn: true, dpNoise: 'distributed' })).privacy?.differentialPrivacy?.noise).toBe('central');
    expect(fieldOfPath(['privacy', 'secureAggregation', 'threshold'], filled)).toBe('threshold');
  });

  it('attaches the coordinator’s refusals to the fields they name', () => {
    expect(fieldOfPath(['training', 'optimizer', 'betas', 1], filled)).toBe('beta2');
    expect(fieldOfPath(['reference', 'path'], { referenceKind: 'folder', testKind: 'none' })).toBe('referencePath');
    const refusal = errorsFromRefusal('reference.path: no such folder /data/x; something else went wrong', { referenceKind: 'folder', testKind: 'none' });
    expect(refusal).toEqual({ fields: { referencePath: 'The coordinator refused this: no such folder /data/x.' }, rest: 'something else went wrong' });
  });
});
