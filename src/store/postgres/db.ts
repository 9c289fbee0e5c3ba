/**
 * The PostgreSQL connection pool: every call bounded by connect and statement timeouts, so an
 * outage turns into StoreUnavailable errors, never hangs, and the pool recovers by itself.
 */
import pg from 'pg';
import { StoreUnavailable } from '../types.js';
import { migrationsFor } from '../schema.js';
import * as plans from './plans.js';

export type Row = Record<string, unknown>;
export type Conn = pg.Pool | pg.PoolClient;

export interface PostgresOptions {
  schema?: string;
  poolSize?: number;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Splits `?schema=NAME` off a postgres:// URL (pg itself does not know it). */
export function parsePostgresUrl(url: string): { url: string; schema: string | null } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  if (schema !== null && !SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name "${schema}" in the database URL`);
  return { url: u.toString(), schema };
}

export class PgDb {
  readonly pool: pg.Pool;
  /**
   * Two connections of their own for the calls that must never queue behind the pool's reads and
   * writes: the health probe, lease renewals and node heartbeats (eight deep lists can hold all
   * ten pooled connections; a renewal waiting behind them could let a lease run out).
   */
  readonly control: pg.Pool;
  readonly schema: string;
  readonly config: pg.ClientConfig;

  constructor(url: string, o: PostgresOptions = {}) {
    const parsed = parsePostgresUrl(url);
    this.schema = o.schema ?? parsed.schema ?? 'public';
    if (!SCHEMA_NAME.test(this.schema)) throw new Error(`invalid schema name "${this.schema}"`);
    const timeout = o.statementTimeoutMs ?? 5000;
    this.config = {
      connectionString: parsed.url,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 3000,
      statement_timeout: timeout,
      query_timeout: timeout + 1000,
      options: `-c search_path=${this.schema}`,
    };
    this.pool = new pg.Pool({ ...this.config, max: o.poolSize ?? 10, idleTimeoutMillis: 10_000 });
    this.control = new pg.Pool({ ...this.config, max: 2, idleTimeoutMillis: 10_000 });
    // An idle connection dropped by a database restart must not crash the process.
    this.pool.on('error', () => {});
    this.control.on('error', () => {});
  }

  async end(): Promise<void> {
    await Promise.all([this.pool.end(), this.control.end()]);
  }

  async run(sql: string, args: unknown[] = [], db: Conn = this.pool): Promise<pg.QueryResult> {
    try {
      return await db.query(sql, args);
    } catch (e) {
      throw unavailableOr(e);
    }
  }

  async q(sql: string, args: unknown[] = [], db: Conn = this.pool): Promise<Row[]> {
    return (await this.run(sql, args, db)).rows as Row[];
  }

  /** Names of the statements run through `prepared`, by their text. */
  private readonly names = new Map<string, string>();
  private nextName = 0;

  /**
   * Like q, for a statement from a small fixed set of texts (the listing's: bucket sums, the
   * offset walk, the page): prepared once per connection, so PostgreSQL plans it once rather than
   * on every call (~1 ms for the offset walk). Never for texts built from values: every name
   * stays prepared on every connection. A plan that the schema changed under it (another node
   * migrated to a newer release; PostgreSQL then refuses it for good) is run once more unprepared
   * rather than failing, and the text gets a new name, prepared afresh from the next call on.
   */
  async prepared(sql: string, args: unknown[] = []): Promise<Row[]> {
    let name = this.names.get(sql);
    if (!name) this.names.set(sql, (name = `dcs_${this.nextName++}`));
    try {
      return (await this.pool.query({ name, text: sql, values: args })).rows as Row[];
    } catch (e) {
      if ((e as { code?: unknown }).code !== '0A000') throw unavailableOr(e); // 0A000: cached plan must not change result type
      this.names.delete(sql);
      return this.q(sql, args);
    }
  }

  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect().catch((e: unknown) => { throw unavailableOr(e); });
    // The pool listens for errors only on idle clients: a connection dropped while this one is
    // checked out would otherwise be an unhandled 'error' event and end the process.
    let broken = false;
    const onError = () => { broken = true; };
    c.on('error', onError);
    try {
      await c.query(plans.begin);
      const out = await fn(c);
      await c.query(plans.commit);
      return out;
    } catch (e) {
      if (!broken) await c.query(plans.rollback).catch(() => { broken = true; });
      throw unavailableOr(e);
    } finally {
      c.off('error', onError);
      c.release(broken || undefined);
    }
  }

  async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await this.run(plans.lockMigrations, [`dcs-tasks:${this.schema}`], c);
      await this.run(plans.createSchema(this.schema), [], c);
      await this.run(plans.createMigrationsTable, [], c);
      const done = new Set((await this.q(plans.appliedMigrations, [], c)).map((r) => Number(r.version)));
      for (const m of migrationsFor('postgres')) {
        if (done.has(m.version)) continue;
        await this.run(m.sql, [], c);
        await this.run(plans.recordMigration, [m.version, Date.now()], c);
      }
    });
  }
}

/**
 * Errors that say the database could not be reached or went away become StoreUnavailable:
 * the driver's own errors (no SQLSTATE: connect timeout, connection terminated, ECONNREFUSED)
 * and SQLSTATE classes 08 (connection exception) and 57 (operator intervention: shutdown,
 * statement timeout). Errors about the data pass through unchanged.
 */
export function unavailableOr(e: unknown): unknown {
  if (e instanceof StoreUnavailable) return e;
  const code = (e as { code?: unknown })?.code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
  if (sqlState !== null && !sqlState.startsWith('08') && !sqlState.startsWith('57')) return e;
  return new StoreUnavailable(`the database is unavailable: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}
