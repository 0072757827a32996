import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { MIGRATIONS, openSqliteStore, SCHEMA_VERSION } from './sqlite-store.ts';

describe('SQLite store', () => {
  const dirs: string[] = [];
  const tempDb = () => {
    const dir = mkdtempSync(join(tmpdir(), 'facmic-store-'));
    dirs.push(dir);
    return join(dir, 'nested', 'coordinator.sqlite');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file with WAL, migrates to the current schema version, and reopens without migrating again', () => {
    const path = tempDb();
    const store = openSqliteStore(path);
    store.setSetting('k', 'v');
    store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    db.close();
    const again = openSqliteStore(path);
    expect(again.getSetting('k')).toBe('v');
    again.close();
  });

  it('refuses a database from a newer coordinator', () => {
    const path = tempDb();
    openSqliteStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openSqliteStore(path)).toThrow(/schema version/);
  });

  it('rolls a failed transaction back entirely', () => {
    const store = openSqliteStore(':memory:');
    expect(() =>
      store.transaction(() => {
        store.setSetting('a', '1');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.getSetting('a')).toBeNull();
    store.close();
  });
});
