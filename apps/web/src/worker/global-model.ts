/**
 * The newest global model, for the "classify an image" panel. `@facmic/site` keeps the models it downloads private
 * and the coordinator's model download is admin-only, so once the round loop has ended (federation finished or
 * stopped, its connection closed) the worker asks the coordinator for the final model over a short site connection
 * of its own, with the protocol's `model:get`. While the loop runs, a second connection would replace its session,
 * so the panel waits for the end.
 */
import { io, type Socket } from 'socket.io-client';
import { modelAckSchema, PROTOCOL_VERSION, readConnectError, sessionWelcomeSchema, SITE_NAMESPACE, type SiteClientEvents, type SiteServerEvents } from '@facmic/protocol';
import type { SiteInvite } from './worker-messages.ts';

export interface GlobalModelFile {
  readonly round: number;
  readonly bytes: Uint8Array;
}

const TIMEOUT_MS = 30_000;

/** The global model published after the federation's last round (its `latestModelRound`). */
export function fetchFinalGlobalModel(invite: SiteInvite, clientName: string): Promise<GlobalModelFile> {
  return new Promise((resolve, reject) => {
    const socket: Socket<SiteServerEvents, SiteClientEvents> = io(`${invite.coordinatorUrl}${SITE_NAMESPACE}`, {
      auth: { protocolVersion: PROTOCOL_VERSION, federationId: invite.federationId, siteToken: invite.token, client: clientName },
      reconnection: false,
      forceNew: true,
    });
    const timer = setTimeout(() => {
      finish(new Error('the coordinator did not send the model in time; try again'));
    }, TIMEOUT_MS);
    const finish = (result: GlobalModelFile | Error) => {
      clearTimeout(timer);
      socket.disconnect();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    socket.on('connect_error', (error) => {
      finish(new Error(readConnectError(error)?.message ?? `cannot reach the coordinator (${error.message})`));
    });
    socket.on('session:welcome', (payload) => {
      const welcome = sessionWelcomeSchema.safeParse(payload);
      if (!welcome.success) {
        finish(new Error('unexpected welcome from the coordinator'));
        return;
      }
      const round = welcome.data.round.latestModelRound;
      const untyped = socket as unknown as Socket;
      untyped
        .timeout(TIMEOUT_MS)
        .emitWithAck('model:get', { round })
        .then((raw: unknown) => {
          const answer = modelAckSchema.safeParse(raw);
          if (!answer.success) finish(new Error('unexpected answer from the coordinator'));
          else if (!answer.data.ok) finish(new Error(answer.data.message));
          else finish({ round: answer.data.round, bytes: answer.data.data });
        })
        .catch((error: unknown) => {
          finish(error instanceof Error ? error : new Error(String(error)));
        });
    });
  });
}
