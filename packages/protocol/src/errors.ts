/**
 * Every error code a coordinator answers with: in Socket.IO acks (`{ ok: false, code, message }`), in handshake
 * refusals (`connect_error` with `err.data = { code, message, ... }`), in `session:closed`, and in REST error bodies
 * (same shape, with {@link ErrorInfo.httpStatus}). The table is the documentation; `README.md` mirrors it and a test
 * keeps the two equal.
 */
export interface ErrorInfo {
  /** HTTP status used when the error answers a REST request. */
  httpStatus: number;
  /** Where the code can appear. */
  where: 'handshake' | 'socket' | 'rest' | 'socket, rest' | 'handshake, rest' | 'site' | 'any';
  /** What it means and what to do. */
  description: string;
}

export const ERROR_CODES = {
  CLIENT_TOO_OLD: { httpStatus: 426, where: 'handshake', description: 'The client speaks an older protocol than the coordinator accepts. Reload the page or update the client.' },
  SERVER_TOO_OLD: { httpStatus: 426, where: 'handshake', description: 'The client speaks a newer protocol than the coordinator knows. Update the coordinator.' },
  BAD_HANDSHAKE: { httpStatus: 400, where: 'handshake', description: 'The connection request lacks or malforms `protocolVersion`, `federationId` or the token.' },
  UNKNOWN_FEDERATION: { httpStatus: 404, where: 'handshake', description: 'No federation has this id (never created, or deleted).' },
  BAD_TOKEN: { httpStatus: 401, where: 'handshake', description: 'The site token is not an invite of this federation.' },
  TOKEN_REVOKED: { httpStatus: 403, where: 'handshake', description: 'The invite was revoked by an admin; the site is disconnected and cannot rejoin with it.' },
  UNAUTHORIZED: { httpStatus: 401, where: 'handshake, rest', description: 'Missing or wrong admin token (REST: `Authorization: Bearer <token>`).' },
  RATE_LIMITED: { httpStatus: 429, where: 'any', description: 'Too many attempts or messages; wait and retry.' },
  MALFORMED_MESSAGE: { httpStatus: 400, where: 'socket', description: 'A Socket.IO message does not match its schema (the message says which field).' },
  UNKNOWN_EVENT: { httpStatus: 400, where: 'socket', description: 'The event name is not part of the protocol for this namespace.' },
  BAD_REQUEST: { httpStatus: 400, where: 'rest', description: 'A REST body, query or path parameter does not match its schema (the message says which field).' },
  PAYLOAD_TOO_LARGE: { httpStatus: 413, where: 'socket, rest', description: 'The message or body is larger than accepted. Frames above the transport limit (`maxHttpBufferSize`) close the connection instead.' },
  NOT_FOUND: { httpStatus: 404, where: 'socket, rest', description: 'The federation, site, round or model asked for does not exist.' },
  INVALID_TRANSITION: { httpStatus: 409, where: 'rest', description: 'The federation cannot do this from its current state (e.g. resume a finished federation).' },
  FEDERATION_PAUSED: { httpStatus: 409, where: 'socket', description: 'The federation is paused between rounds: a submission for the next round is refused until an admin resumes it.' },
  FEDERATION_STOPPED: { httpStatus: 409, where: 'socket', description: 'The federation was stopped by an admin; nothing more is accepted.' },
  FEDERATION_FINISHED: { httpStatus: 409, where: 'socket', description: 'The federation completed all its rounds; nothing more is accepted.' },
  ENCODER_MISMATCH: { httpStatus: 409, where: 'site', description: "The site's image encoder differs from the federation's (model id or hash): its features would not be comparable, so it does not take part." },
  NOT_READY: { httpStatus: 409, where: 'socket', description: 'The site must send `site:ready` on this connection before asking for a global model (`model:get`), until the federation has ended.' },
  FOREIGN_SUBMISSION: { httpStatus: 403, where: 'socket', description: "The submission names another federation than the one the site's token belongs to." },
  STALE_ROUND: { httpStatus: 409, where: 'socket', description: 'The submission is for a round that is already over; fetch the latest global model and wait for the next round.' },
  WRONG_ROUND: { httpStatus: 409, where: 'socket', description: 'The submission is for a round that has not started.' },
  ROUND_CLOSED: { httpStatus: 409, where: 'socket', description: 'The round stopped accepting submissions (deadline passed, aggregating or published): the submission is late.' },
  NOT_A_PARTICIPANT: { httpStatus: 409, where: 'socket', description: 'The site was not a participant of this round (it joined mid-round); it trains from the next round.' },
  DUPLICATE_SUBMISSION: { httpStatus: 409, where: 'socket', description: 'The site already submitted different weights for this round. (Resending the same weights is acknowledged with `duplicate: true`.)' },
  BAD_SAMPLE_COUNT: { httpStatus: 400, where: 'socket', description: 'The sample count is not an integer between 1 and MAX_SAMPLE_COUNT.' },
  BAD_WEIGHTS: { httpStatus: 400, where: 'socket, rest', description: 'The weights are not a valid tensor file (bad magic, version, header, length or checksum).' },
  WEIGHTS_SHAPE_MISMATCH: { httpStatus: 400, where: 'socket, rest', description: "The weights' tensor names or shapes differ from the federation's module." },
  NON_FINITE_WEIGHTS: { httpStatus: 400, where: 'socket, rest', description: 'The weights hold NaN or Infinity.' },
  SESSION_REPLACED: { httpStatus: 409, where: 'socket', description: "Another connection with the same site token took over; this one is closed (sent in `session:closed`)." },
  ENCODER_UNAVAILABLE: { httpStatus: 503, where: 'rest', description: "The coordinator's encoder could not encode the requested images (the message says why)." },
  INTERNAL_ERROR: { httpStatus: 500, where: 'any', description: 'An unexpected failure inside the coordinator; nothing was changed. The coordinator logs the details.' },
} as const satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** An error carrying a protocol code, thrown and caught inside clients and the coordinator. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
