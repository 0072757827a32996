/**
 * What an error means for the person in front of the page, in one sentence: the hospital page's problems (by the
 * site's error code) and the dashboard's failed calls (by the coordinator's error code). The code and the raw
 * message stay available to the admin, in the page's technical details; they are never the sentence itself.
 */

/** A hospital's problem, by code: what happened and what to do, for a clinician. */
const SITE_PROBLEMS: Readonly<Record<string, string>> = {
  BAD_TOKEN: 'The invite is not valid for this federation. Ask the coordinator’s admin for a new invite link.',
  TOKEN_REVOKED: 'The admin revoked this hospital’s invite. Ask for a new one if this is a mistake.',
  UNKNOWN_FEDERATION: 'This federation no longer exists on the coordinator. Ask the admin for a current invite.',
  BAD_HANDSHAKE: 'The invite link is incomplete. Copy the whole link again from the message you received.',
  SESSION_REPLACED: 'This hospital was opened in another tab or browser, which took over. Close this tab, or reload it to take over again.',
  CLIENT_TOO_OLD: 'This page is older than the coordinator. Reload the page.',
  SERVER_TOO_OLD: 'The coordinator is older than this page. Ask its admin to update it.',
  ENCODER_MISMATCH: 'This browser loaded a different image model than the federation uses, so its results would not be comparable. Reload the page; if it persists, tell the admin.',
  WORKER_FAILED: 'The page’s engine could not start. Reload the page. If it fails again, try an up-to-date Chrome, Edge or Firefox.',
  ENCODER_LOAD_FAILED:
    'The image model could not start in this browser. Reload the page. If the address asks for a device (device=webgpu), remove that part to let the page choose.',
  STARTUP_FAILED: 'The page could not reach the coordinator. Check that the address is right and reachable, then reload the page.',
  RATE_LIMITED: 'The coordinator is receiving too many requests; the page waits and tries again.',
  FEDERATION_PAUSED: 'The admin paused the federation; the page continues when it is resumed.',
  FEDERATION_STOPPED: 'The admin stopped the federation; nothing more is sent.',
  FEDERATION_FINISHED: 'The federation has finished all its rounds; nothing more is sent.',
  STALE_ROUND: 'This hospital’s update arrived after its round was over; it takes part in the next round.',
  ROUND_CLOSED: 'This hospital’s update arrived after the round had closed; it takes part in the next round.',
  WRONG_ROUND: 'The page was ahead of the coordinator; it waits for the next round.',
  NOT_A_PARTICIPANT: 'This round started before this hospital was ready; it takes part from the next round.',
  DUPLICATE_SUBMISSION: 'The coordinator already holds this hospital’s update for this round.',
  NOT_READY: 'The coordinator did not count this hospital as ready yet; the page announces it again.',
  CONNECTION_LOST: 'The connection dropped in the middle of a request; the page sends it again once it is back.',
  STORAGE: 'This browser could not keep the prepared images; after a reload they are prepared again.',
  TRAINING_FAILED: 'Training failed on this computer; the page tries again in the next round.',
  LOCAL_DATA_INVALID: 'The prepared images do not fit this federation. Leave the federation below and choose the folder again.',
  PROTOCOL_VIOLATION: 'The coordinator sent something this page did not expect. The page carries on; if it repeats, tell the admin.',
};

export function siteProblemSentence(code: string): string {
  return SITE_PROBLEMS[code] ?? 'Something went wrong; the page tries again by itself. If it keeps happening, send the technical details below to the admin.';
}

/** A failed dashboard call: its protocol code (or NETWORK / HTTP / PROTOCOL from the page itself) and message. */
export interface FailedCall {
  readonly code: string;
  readonly message: string;
}

function failedCall(error: unknown): FailedCall {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return { code: error.code, message: error.message };
  return { code: 'UNKNOWN', message: error instanceof Error ? error.message : String(error) };
}

/** The coordinator's field-level wording (`rounds: Too big: expected number to be <=10000`) as a short clause. */
function detailOf(message: string): string {
  return message.replace(/\s*\(Authorization: Bearer <token>\)/i, '').trim();
}

/** Said at the sign-in form when the coordinator refuses the admin token. */
export const TOKEN_REFUSED = 'The admin token was not accepted. Sign in with the token that npm start printed (or FACMIC_ADMIN_TOKEN).';

/** A sentence for a failed dashboard call, for the admin at the button that failed. */
export function adminProblemSentence(error: unknown): string {
  const { code, message } = failedCall(error);
  switch (code) {
    case 'UNAUTHORIZED':
      return TOKEN_REFUSED;
    case 'NETWORK':
      return 'The coordinator cannot be reached. Check that it is running and that this address is right.';
    case 'RATE_LIMITED':
      return 'Too many attempts in a short time. Wait a minute, then try again.';
    case 'NOT_FOUND':
      return 'The coordinator no longer has this (it was deleted, or never created). Reload the page.';
    case 'INVALID_TRANSITION':
      return `The federation cannot do this now: ${detailOf(message)}.`;
    case 'BAD_REQUEST':
      return `The coordinator refused this: ${detailOf(message)}.`;
    case 'PAYLOAD_TOO_LARGE':
      return 'The upload is larger than the coordinator accepts. Upload fewer or smaller images, or a features file.';
    case 'ENCODER_UNAVAILABLE':
      return `The coordinator could not encode the images: ${detailOf(message)}.`;
    case 'INTERNAL_ERROR':
      return 'Something failed inside the coordinator; nothing was changed. The coordinator’s log says why.';
    case 'HTTP':
    case 'PROTOCOL':
      return 'The coordinator answered something this page does not understand. Reload the page; if it repeats, the page and the coordinator may be of different versions.';
    default:
      return detailOf(message);
  }
}

/** Whether a failed call means the admin token is not (or no longer) accepted. */
export function isUnauthorized(error: unknown): boolean {
  return failedCall(error).code === 'UNAUTHORIZED';
}
