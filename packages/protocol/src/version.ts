/**
 * Protocol version, sent by every client in the Socket.IO handshake (`auth.protocolVersion`). A peer outside the
 * supported range gets a typed answer (`CLIENT_TOO_OLD` or `SERVER_TOO_OLD`, tldraw-style) instead of undefined
 * behaviour. Bump {@link PROTOCOL_VERSION} on any change a peer of the previous version would misread; raise
 * {@link MIN_PROTOCOL_VERSION} when this build stops understanding older peers.
 */
export const PROTOCOL_VERSION = 3;
/**
 * Oldest peer version this build still talks to (3: the federation carries its privacy settings, and a secure
 * aggregation round is answered with `secagg:answer` instead of `round:submit`, which a version-2 site cannot do).
 */
export const MIN_PROTOCOL_VERSION = 3;

export type ProtocolVersionCheck =
  | { ok: true }
  | { ok: false; code: 'CLIENT_TOO_OLD' | 'SERVER_TOO_OLD'; message: string };

/**
 * Decides whether a server at `server.version` (accepting clients from `server.min`) can serve a client speaking
 * `clientVersion`.
 */
export function checkProtocolVersion(
  clientVersion: number,
  server: { version: number; min: number } = { version: PROTOCOL_VERSION, min: MIN_PROTOCOL_VERSION },
): ProtocolVersionCheck {
  if (clientVersion < server.min) {
    return {
      ok: false,
      code: 'CLIENT_TOO_OLD',
      message: `This client speaks protocol ${clientVersion}; the coordinator needs ${server.min} to ${server.version}. Reload the page or update facmic.`,
    };
  }
  if (clientVersion > server.version) {
    return {
      ok: false,
      code: 'SERVER_TOO_OLD',
      message: `This client speaks protocol ${clientVersion}; the coordinator only knows up to ${server.version}. Ask the coordinator's admin to update it.`,
    };
  }
  return { ok: true };
}
