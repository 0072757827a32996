import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

  it('moves the weight blobs of a schema-1 database to the end of their rows, keeping every submission and model', () => {
    const path = tempDb();
    mkdirSync(dirname(path), { recursive: true });
    const old = new Database(path);
    old.exec(MIGRATIONS[0] ?? '');
    old.pragma('user_version = 1');
    old.prepare(`INSERT INTO federations VALUES ('fed', '{}', '{}', 'c', 0, 0, 0, 'training', NULL, 1, NULL, NULL, 1, 1)`).run();
    old.prepare(`INSERT INTO sites VALUES ('site-a', 'fed', 'A', 'h', 1, NULL, NULL, NULL, NULL, 0)`).run();
    old.prepare(`INSERT INTO submissions VALUES ('fed', 1, 'site-a', 10, ?, 'ck', 4, 'float32', '{"steps":1}', 5, 1)`).run(Buffer.from([1, 2, 3, 4]));
    old.prepare(`INSERT INTO global_models VALUES ('fed', 0, ?, 'g0', '[]', 0, NULL, 2)`).run(Buffer.from([9, 9]));
    old.close();

    const store = openSqliteStore(path);
    expect(store.listSubmissions('fed', 1, { withWeights: true })).toMatchObject([{ siteId: 'site-a', sampleCount: 10, checksum: 'ck', bytes: 4, dtype: 'float32', receivedAt: 5, weights: new Uint8Array([1, 2, 3, 4]) }]);
    expect(store.listGlobalModels('fed')).toMatchObject([{ round: 0, checksum: 'g0', totalSamples: 0 }]);
    expect(store.getGlobalModel('fed', 0)?.weights).toEqual(new Uint8Array([9, 9]));
    store.close();
    const db = new Database(path, { readonly: true });
    for (const table of ['submissions', 'global_models']) {
      const columns = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
      expect(columns.at(-1)?.name).toBe('weights');
    }
    db.close();
  });
});
