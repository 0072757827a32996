import { describe, expect, it } from 'vitest';
import { findSession, latestSession, MAX_SESSIONS, readSessions, removeSession, saveSession, SESSIONS_KEY, updateRound, type KeyValueStore, type SiteSession } from './site-session.ts';
import { siteReportCsv } from './site-report.ts';

function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

function session(token: string, updatedAt: number): SiteSession {
  return { coordinatorUrl: 'http://c', federationId: 'fed', token, device: 'auto', demoSite: null, siteName: null, federationName: null, seed: 1, createdAt: 0, updatedAt, rounds: [] };
}

describe('site session', () => {
  it('saves, finds by invite, and picks the latest', () => {
    const store = memoryStore();
    saveSession(store, session('a'.repeat(16), 1));
    saveSession(store, session('b'.repeat(16), 5));
    saveSession(store, { ...session('a'.repeat(16), 3), siteName: 'Hospital A' });
    expect(readSessions(store)).toHaveLength(2);
    expect(findSession(store, { coordinatorUrl: 'http://c', federationId: 'fed', token: 'a'.repeat(16) })?.siteName).toBe('Hospital A');
    expect(latestSession(store)?.token).toBe('b'.repeat(16));
    removeSession(store, session('b'.repeat(16), 0));
    expect(latestSession(store)?.token).toBe('a'.repeat(16));
  });

  it('survives garbage in storage and keeps a bounded number of sessions', () => {
    const store = memoryStore();
    store.setItem(SESSIONS_KEY, '{not json');
    expect(readSessions(store)).toEqual([]);
    store.setItem(SESSIONS_KEY, JSON.stringify([{ token: 1 }, session('c'.repeat(16), 1)]));
    expect(readSessions(store)).toHaveLength(1);
    for (let i = 0; i < MAX_SESSIONS + 5; i++) saveSession(store, session(`t${String(i).padStart(15, '0')}`, i));
    expect(readSessions(store)).toHaveLength(MAX_SESSIONS);
    expect(latestSession(store)?.updatedAt).toBe(MAX_SESSIONS + 4);
  });

  it('merges round results in round order', () => {
    let rounds = updateRound([], 2, { bytesSent: 10 });
    rounds = updateRound(rounds, 1, { globalModel: { accuracy: 0.5, balancedAccuracy: 0.4, samples: 10 } });
    rounds = updateRound(rounds, 2, { localModel: { accuracy: 0.9, balancedAccuracy: 0.8, samples: 10 } });
    expect(rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(rounds[1]?.bytesSent).toBe(10);
    expect(rounds[1]?.localModel?.accuracy).toBe(0.9);
    const csv = siteReportCsv('Brain MRI', 'Hospital A', rounds);
    const lines = csv.trim().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^federation,site,round,global_model_accuracy/);
    expect(lines[1]).toBe('Brain MRI,Hospital A,1,0.5,0.4,,,10,,,,0,0,');
    expect(lines[2]).toBe('Brain MRI,Hospital A,2,,,0.9,0.8,10,,,,10,0,');
  });
});
