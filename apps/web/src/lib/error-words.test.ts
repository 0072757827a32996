import { describe, expect, it } from 'vitest';
import { AdminApiError } from '../pages/admin/admin-api.ts';
import { adminProblemSentence, isUnauthorized, siteProblemSentence } from './error-words.ts';

describe('errors in words', () => {
  it('never shows the API’s header syntax to an admin', () => {
    const error = new AdminApiError('UNAUTHORIZED', 'missing or wrong admin token (Authorization: Bearer <token>)', 401);
    expect(adminProblemSentence(error)).toBe('The admin token was not accepted. Sign in with the token that npm start printed (or FACMIC_ADMIN_TOKEN).');
    expect(isUnauthorized(error)).toBe(true);
    expect(adminProblemSentence(new AdminApiError('INVALID_TRANSITION', 'cannot resume a finished federation', 409))).toBe('The federation cannot do this now: cannot resume a finished federation.');
    expect(adminProblemSentence(new Error('plain failure'))).toBe('plain failure');
  });

  it('gives every hospital problem a sentence', () => {
    expect(siteProblemSentence('ROUND_CLOSED')).toMatch(/takes part in the next round/);
    expect(siteProblemSentence('SOMETHING_NEW')).toMatch(/tries again by itself/);
  });
});
