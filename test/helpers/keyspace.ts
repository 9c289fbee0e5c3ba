/**
 * Seeding a Redis with keys of every type (some with a TTL) and comparing two Redis key by key:
 * type, value and TTL (within a tolerance), for the migration tests.
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';

/** Writes `n` keys in database `db`, cycling through string, hash, list, set, zset and stream; every third key gets a TTL. */
export async function seed(r: Redis, n: number, db = 0, prefix = 'k'): Promise<void> {
  await r.select(db);
  const batch = 1000;
  for (let start = 0; start < n; start += batch) {
    const p = r.pipeline();
    for (let i = start; i < Math.min(n, start + batch); i++) {
      const k = `${prefix}:${db}:${i}`;
      switch (i % 6) {
        case 0: p.set(k, `v${i}`); break;
        case 1: p.hset(k, 'a', String(i), 'b', `x${i}`); break;
        case 2: p.rpush(k, 'l1', String(i), 'l3'); break;
        case 3: p.sadd(k, 's1', String(i)); break;
        case 4: p.zadd(k, String(i), "m1", String(i + 1), "m2"); break;
        case 5: p.xadd(k, `${i + 1}-0`, 'f', String(i)); break;
      }
      if (i % 3 === 0) p.pexpire(k, 600_000 + (i % 1000) * 100);
    }
    await p.exec();
  }
  await r.select(0);
}

/** Queues the read of a key's whole value by its type. */
function readValue(p: ReturnType<Redis['pipeline']>, k: string, type: string): void {
  switch (type) {
    case 'string': p.get(k); break;
    case 'hash': p.hgetall(k); break;
    case 'list': p.lrange(k, 0, -1); break;
    case 'set': p.smembers(k); break;
    case 'zset': p.zrange(k, '0', '-1', 'WITHSCORES'); break;
    case 'stream': p.xrange(k, '-', '+'); break;
    default: p.exists(k);
  }
}

const normal = (type: string, v: unknown) => (type === 'set' ? [...(v as string[])].sort() : v);

/**
 * Every key of `src` in database `db` is on `dst` with the same type and value, and a TTL within
 * 2 s of the source's (no TTL where the source has none). Returns how many keys were compared.
 * `scan`: what the source calls SCAN (a renamed command).
 */
export async function assertSameKeys(src: Redis, dst: Redis, db = 0, scan = 'scan'): Promise<number> {
  await src.select(db);
  await dst.select(db);
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = (await src.call(scan, cursor, 'COUNT', '1000')) as [string, string[]];
    cursor = next;
    const sp = src.pipeline();
    const dp = dst.pipeline();
    for (const k of keys) { sp.type(k).pttl(k); dp.type(k).pttl(k); }
    const [sr, dr] = await Promise.all([sp.exec(), dp.exec()]);
    const sv = src.pipeline();
    const dv = dst.pipeline();
    keys.forEach((k, i) => {
      const type = sr![2 * i][1] as string;
      readValue(sv, k, type);
      readValue(dv, k, type);
    });
    const [svals, dvals] = await Promise.all([sv.exec(), dv.exec()]);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const type = sr![2 * i][1] as string;
      if (type === 'none') continue; // expired meanwhile
      assert.equal(dr![2 * i][1], type, `type of ${k}`);
      assert.deepEqual(normal(type, dvals![i][1]), normal(type, svals![i][1]), `value of ${k}`);
      const st = sr![2 * i + 1][1] as number;
      const dt = dr![2 * i + 1][1] as number;
      if (st < 0) assert.equal(dt, -1, `${k} has no TTL on the source but ${dt} ms on the target`);
      else assert.ok(Math.abs(st - dt) <= 2000, `TTL of ${k}: ${st} on the source, ${dt} on the target`);
      n++;
    }
  } while (cursor !== '0');
  await src.select(0);
  await dst.select(0);
  return n;
}

/** Clients a test opens, closed together at its end. */
export class RedisClients {
  private readonly all: Redis[] = [];

  open(port: number, password: string): Redis {
    const r = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 3 });
    r.on('error', () => {});
    this.all.push(r);
    return r;
  }

  closeAll(): void {
    for (const r of this.all.splice(0)) r.disconnect();
  }
}
