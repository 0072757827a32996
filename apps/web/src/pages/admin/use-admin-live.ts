/**
 * The dashboard's live state: federations, and for the selected one its sites, rounds, per-site submissions and audit
 * log. Loaded once over the admin namespace and REST, then kept current by the coordinator's admin events.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import {
  ADMIN_NAMESPACE,
  auditEntrySchema,
  federationDeletedSchema,
  federationListAckSchema,
  federationSummarySchema,
  PROTOCOL_VERSION,
  readConnectError,
  roundSummarySchema,
  siteSummarySchema,
  type AdminClientEvents,
  type AdminServerEvents,
  type AuditEntry,
  type FederationConfig,
  type FederationSummary,
  type RoundSummary,
  type SiteSummary,
  type SubmissionSummary,
} from '@facmic/protocol';
import { adminProblemSentence } from '../../lib/error-words.ts';
import type { AdminApi } from './admin-api.ts';

type AdminSocket = Socket<AdminServerEvents, AdminClientEvents>;

export interface FederationLive {
  readonly summary: FederationSummary;
  readonly config: FederationConfig | null;
  readonly sites: readonly SiteSummary[];
  readonly rounds: readonly RoundSummary[];
  /** Accepted submissions of published rounds, with each site's metrics. */
  readonly submissions: readonly SubmissionSummary[];
  readonly audit: readonly AuditEntry[];
}

export interface AdminLive {
  readonly connected: boolean;
  /** A refusal that needs the admin (wrong token...), or null. */
  readonly authProblem: string | null;
  readonly connectionProblem: string | null;
  readonly federations: readonly FederationSummary[];
  readonly selected: FederationLive | null;
  /** Why the selected federation could not be loaded, in words. */
  readonly loadProblem: string | null;
  readonly refresh: () => void;
}

const MAX_AUDIT = 500;

function upsert<T>(list: readonly T[], item: T, same: (a: T) => boolean): T[] {
  const index = list.findIndex(same);
  if (index < 0) return [...list, item];
  const copy = [...list];
  copy[index] = item;
  return copy;
}

export function useAdminLive(api: AdminApi, token: string, selectedId: string | null): AdminLive {
  const [connected, setConnected] = useState(false);
  const [authProblem, setAuthProblem] = useState<string | null>(null);
  const [connectionProblem, setConnectionProblem] = useState<string | null>(null);
  const [federations, setFederations] = useState<FederationSummary[]>([]);
  const [selected, setSelected] = useState<FederationLive | null>(null);
  const [loadProblem, setLoadProblem] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const selectedRef = useRef(selectedId);
  selectedRef.current = selectedId;
  /** Reloads the submissions (per-site metrics): on load and whenever a round is published. */
  const loadSubmissions = useCallback(
    (federationId: string) => {
      api.submissions(federationId).then(
        (submissions) => {
          setSelected((current) => (current?.summary.id === federationId ? { ...current, submissions } : current));
        },
        () => {
          // Kept as they were; the next publication retries.
        },
      );
    },
    [api],
  );

  // Full load of the selected federation (REST), repeated on refresh and on reconnection.
  useEffect(() => {
    if (selectedId === null) {
      setSelected(null);
      return;
    }
    let cancelled = false;
    setLoadProblem(null);
    Promise.all([api.getFederation(selectedId), api.listSites(selectedId), api.listRounds(selectedId), api.audit(selectedId)]).then(
      ([detail, sites, rounds, audit]) => {
        if (cancelled) return;
        setSelected({ summary: detail.summary, config: detail.config, sites, rounds, submissions: [], audit: audit.slice(-MAX_AUDIT) });
        loadSubmissions(selectedId);
      },
      (error: unknown) => {
        if (!cancelled) setLoadProblem(adminProblemSentence(error));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [api, selectedId, generation, loadSubmissions]);

  // Live events.
  useEffect(() => {
    const socket: AdminSocket = io(`${api.baseUrl}${ADMIN_NAMESPACE}`, { auth: { protocolVersion: PROTOCOL_VERSION, adminToken: token } });
    const listFederations = () => {
      const untyped = socket as unknown as Socket;
      untyped
        .timeout(15_000)
        .emitWithAck('federation:list', {})
        .then((raw: unknown) => {
          const parsed = federationListAckSchema.safeParse(raw);
          if (parsed.success && parsed.data.ok) setFederations(parsed.data.federations);
        })
        .catch(() => {
          // The REST list below is the fallback.
        });
    };
    socket.on('connect', () => {
      setConnected(true);
      setAuthProblem(null);
      setConnectionProblem(null);
      listFederations();
      setGeneration((g) => g + 1);
    });
    socket.on('disconnect', (reason) => {
      setConnected(false);
      setConnectionProblem(`disconnected (${reason}); reconnecting…`);
    });
    socket.on('connect_error', (error) => {
      const refusal = readConnectError(error);
      setConnected(false);
      if (refusal?.code === 'UNAUTHORIZED') setAuthProblem(refusal.message);
      else setConnectionProblem(refusal?.message ?? `cannot reach the coordinator (${error.message}); retrying…`);
    });
    socket.on('federation:updated', (payload) => {
      const parsed = federationSummarySchema.safeParse(payload);
      if (!parsed.success) return;
      const summary = parsed.data;
      setFederations((list) => upsert(list, summary, (f) => f.id === summary.id));
      setSelected((current) => (current?.summary.id === summary.id ? { ...current, summary } : current));
    });
    socket.on('federation:deleted', (payload) => {
      const parsed = federationDeletedSchema.safeParse(payload);
      if (!parsed.success) return;
      setFederations((list) => list.filter((f) => f.id !== parsed.data.federationId));
      setSelected((current) => (current?.summary.id === parsed.data.federationId ? null : current));
    });
    socket.on('site:updated', (payload) => {
      const parsed = siteSummarySchema.safeParse(payload);
      if (!parsed.success) return;
      const site = parsed.data;
      setSelected((current) => (current?.summary.id === site.federationId ? { ...current, sites: upsert(current.sites, site, (s) => s.id === site.id) } : current));
    });
    socket.on('round:updated', (payload) => {
      const parsed = roundSummarySchema.safeParse(payload);
      if (!parsed.success) return;
      const round = parsed.data;
      setSelected((current) => (current?.summary.id === round.federationId ? { ...current, rounds: upsert(current.rounds, round, (r) => r.round === round.round) } : current));
      if (round.status === 'published' && round.federationId === selectedRef.current) loadSubmissions(round.federationId);
    });
    socket.on('audit:appended', (payload) => {
      const parsed = auditEntrySchema.safeParse(payload);
      if (!parsed.success) return;
      const entry = parsed.data;
      setSelected((current) =>
        current && entry.federationId === current.summary.id && !current.audit.some((e) => e.id === entry.id) ? { ...current, audit: [...current.audit, entry].slice(-MAX_AUDIT) } : current,
      );
    });
    return () => {
      socket.disconnect();
    };
  }, [api, token, loadSubmissions]);

  // The REST list, for a first paint before the socket answers and when sockets are blocked.
  useEffect(() => {
    api.listFederations().then(setFederations, (error: unknown) => {
      if (error instanceof Error && 'code' in error && error.code === 'UNAUTHORIZED') setAuthProblem(error.message);
    });
  }, [api, generation]);

  return {
    connected,
    authProblem,
    connectionProblem,
    federations,
    selected,
    loadProblem,
    refresh: () => {
      setGeneration((g) => g + 1);
    },
  };
}
