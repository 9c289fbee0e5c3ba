/**
 * Which store the tests run against: SQLite by default, PostgreSQL when DCS_TEST_STORE=postgres
 * (URL from DCS_TEST_DATABASE_URL). Each service gets its own database: a SQLite file in its data
 * directory, or its own PostgreSQL schema, so runs never collide.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SqliteStore } from '../../src/store/sqlite.js';
import { sqliteStoreOnThread } from '../../src/store/sqlite/thread.js';
import { PostgresStore, parsePostgresUrl } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/types.js';
import { migrationsFor } from '../../src/store/schema.js';

export const TEST_STORE = process.env.DCS_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
export const PG_URL = process.env.DCS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh database URL for a service whose data directory is `dataDir`. */
export function testDatabaseUrl(dataDir: string, kind = TEST_STORE): string {
  if (kind === 'sqlite') return `sqlite:${path.join(dataDir, 'dcs.db')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', `dcs_test_${randomBytes(6).toString('hex')}`);
  return u.toString();
}

/** A migrated store on `url`; with `threads`, a SQLite store runs on its threads, as the service runs it. */
export async function openStore(url: string, o: { threads?: boolean } = {}): Promise<Store> {
  const file = url.slice('sqlite:'.length);
  const store = !url.startsWith('sqlite:') ? new PostgresStore(url) : o.threads ? sqliteStoreOnThread(file) : new SqliteStore(file);
  await store.migrate();
  return store;
}

/** Runs one read query against the service's database (tests inspect what was stored). */
export async function query(url: string, sql: string, args: unknown[] = []): Promise<Record<string, any>[]> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      return db.prepare(sql.replace(/\$\d+/g, '?')).all(...args) as Record<string, any>[];
    } finally {
      db.close();
    }
  }
  const { url: conn, schema } = parsePostgresUrl(url);
  const c = new pg.Client({ connectionString: conn, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    return (await c.query(sql, args)).rows;
  } finally {
    await c.end();
  }
}

/** Drops a test schema (PostgreSQL) when a test is done with it. */
export async function dropDatabase(url: string): Promise<void> {
  if (url.startsWith('sqlite:')) return;
  const { url: conn, schema } = parsePostgresUrl(url);
  const c = new pg.Client({ connectionString: conn });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

/**
 * Writes to the store's database on a connection of its own, outside the store: `onSqlite` in one
 * transaction of a raw better-sqlite3 connection, or `onPostgres` with a raw client in the store's schema.
 */
export async function writeRaw(url: string, onSqlite: (db: Database.Database) => void, onPostgres: (c: pg.Client) => Promise<void>): Promise<void> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length));
    try {
      db.transaction(() => onSqlite(db))();
    } finally {
      db.close();
    }
    return;
  }
  const { url: conn, schema } = parsePostgresUrl(url);
  const c = new pg.Client({ connectionString: conn, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    await onPostgres(c);
  } finally {
    await c.end();
  }
}

/** A database migrated only up to `version`, as an older release left it. */
export async function migratedUpTo(url: string, version: number): Promise<void> {
  const kind = url.startsWith('sqlite:') ? 'sqlite' : 'postgres';
  const steps = migrationsFor(kind).filter((m) => m.version <= version);
  const record = 'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)';
  if (kind === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length));
    db.exec(record);
    for (const m of steps) db.transaction(() => { db.exec(m.sql); db.prepare('INSERT INTO schema_migrations VALUES (?, 0)').run(m.version); })();
    db.close();
    return;
  }
  const { url: conn, schema } = parsePostgresUrl(url);
  const c = new pg.Client({ connectionString: conn });
  await c.connect();
  try {
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(`SET search_path = ${schema}`);
    await c.query(record);
    for (const m of steps) await c.query(`BEGIN; ${m.sql}; INSERT INTO schema_migrations VALUES (${m.version}, 0); COMMIT`);
  } finally {
    await c.end();
  }
}
