/**
 * One batch of the full copy, as it travels from source to target: a SCAN page's keys packed
 * into one binary string, per key `>I4 key length, >I4 DUMP length, >d PTTL (0 = none)`, then the
 * key and its DUMP payload. A script on the source builds it (SCAN + PTTL + DUMP, one round trip)
 * and a script on the target unpacks it (RESTORE … REPLACE per key, one round trip), so the
 * service only moves one Buffer per batch: no per-key command objects, replies or strings in
 * Node, which were most of the copy's time. Where a side refuses scripts, the same format is
 * built or read in Node and the keys go through a pipeline of PTTL + DUMP or of RESTOREs.
 * A key whose PTTL is 0 is expiring as it is read (inside a script Redis checks expiry at the
 * script's start, PTTL at the moment of the call) and is left out: RESTORE reads ttl 0 as "no
 * expiry", which would make it permanent on the target.
 */
import type { Redis } from 'ioredis';
import { asMigrationError } from './errors.js';

export interface Batch {
  /** The SCAN cursor after this batch ('0': the database is done). */
  cursor: string;
  keys: number;
  packed: Buffer;
}

const HEADER = 16;

const DUMP_SCRIPT = `local call, pack = redis.call, struct.pack
local c = call(ARGV[3], ARGV[1], 'COUNT', ARGV[2]) local out = {} local o = 0 local n = 0
for _, k in ipairs(c[2]) do local t = call('PTTL', k) if t ~= -2 and t ~= 0 then local d = call('DUMP', k)
if d then if t < 0 then t = 0 end n = n + 1 out[o+1] = pack('>I4I4d', #k, #d, t) out[o+2] = k out[o+3] = d o = o + 3 end end end
return {c[1], n, table.concat(out)}`;

const RESTORE_SCRIPT = `local call, unpack, sub = redis.call, struct.unpack, string.sub
local b = ARGV[1] local i = 1 local n = 0 local len = #b
while i <= len do local kl, dl, t, j = unpack('>I4I4d', b, i)
call('RESTORE', sub(b, j, j + kl - 1), t, sub(b, j + kl, j + kl + dl - 1), 'REPLACE')
i = j + kl + dl n = n + 1 end return n`;

/** The error a server gives when it will not run the script at all (nothing was done). */
const SCRIPTS_REFUSED = /NOSCRIPT|unknown command|NOPERM|disabled|not allowed/i;

interface Dumped {
  key: Buffer;
  ttl: number;
  payload: Buffer;
}

function pack(dumped: Dumped[]): Buffer {
  const parts: Buffer[] = [];
  for (const d of dumped) {
    const h = Buffer.allocUnsafe(HEADER);
    h.writeUInt32BE(d.key.length, 0);
    h.writeUInt32BE(d.payload.length, 4);
    h.writeDoubleBE(d.ttl, 8);
    parts.push(h, d.key, d.payload);
  }
  return Buffer.concat(parts);
}

/**
 * A batch of big keys may exceed what one argument may hold (proto-max-bulk-len, 512 MB by
 * default): the target's script is given it in slices of whole keys of about `bytes` each.
 */
const SCRIPT_ARG_BYTES = 32 * 1024 * 1024;

/** `b` cut into batches of whole keys of about `bytes` each (one key at least); none when it holds no key. */
export function split(b: Batch, bytes: number): Batch[] {
  const out: Batch[] = [];
  let start = 0;
  let keys = 0;
  for (let i = 0; i < b.packed.length;) {
    i += HEADER + b.packed.readUInt32BE(i) + b.packed.readUInt32BE(i + 4);
    keys++;
    if (i - start >= bytes || i >= b.packed.length) {
      out.push({ cursor: b.cursor, keys, packed: b.packed.subarray(start, i) });
      start = i;
      keys = 0;
    }
  }
  return out;
}

function unpack(b: Buffer): Dumped[] {
  const out: Dumped[] = [];
  for (let i = 0; i < b.length;) {
    const kl = b.readUInt32BE(i);
    const dl = b.readUInt32BE(i + 4);
    const ttl = b.readDoubleBE(i + 8);
    i += HEADER;
    out.push({ key: b.subarray(i, i + kl), ttl, payload: b.subarray(i + kl, i + kl + dl) });
    i += kl + dl;
  }
  return out;
}

/** Reads batches from the source, with a script while the source accepts one. */
export class BatchSource {
  private scripted = true;

  /** `scanCommand`: what the source calls SCAN (see RedisTarget.commandNames). */
  constructor(private readonly src: Redis, private readonly scanCount: number, private readonly scanCommand = 'scan') {}

  async read(cursor: string): Promise<Batch> {
    if (this.scripted) {
      try {
        const [next, n, packed] = (await this.src.callBuffer('EVAL', DUMP_SCRIPT, '0', cursor, String(this.scanCount), this.scanCommand)) as [Buffer, number, Buffer];
        return { cursor: next.toString(), keys: Number(n), packed };
      } catch (e) {
        if (!SCRIPTS_REFUSED.test((e as Error).message)) throw e;
        this.scripted = false;
      }
    }
    const [next, keys] = (await this.src.callBuffer(this.scanCommand, cursor, 'COUNT', String(this.scanCount))) as [Buffer, Buffer[]];
    const dumped = keys.length ? await dumpKeys(this.src, keys) : [];
    return { cursor: next.toString(), keys: dumped.length, packed: pack(dumped) };
  }
}

/** Writes batches to the target, with a script while the target accepts one. */
export class BatchTarget {
  private scripted = true;

  constructor(private readonly dst: Redis) {}

  async write(b: Batch): Promise<void> {
    if (b.keys === 0) return;
    if (this.scripted) {
      try {
        for (const part of split(b, SCRIPT_ARG_BYTES)) await this.dst.callBuffer('EVAL', RESTORE_SCRIPT, '0', part.packed);
        return;
      } catch (e) {
        if (!SCRIPTS_REFUSED.test((e as Error).message)) throw asMigrationError(e, 'target');
        this.scripted = false;
      }
    }
    const pipe = this.dst.pipeline();
    for (const d of unpack(b.packed)) pipe.restore(d.key, d.ttl, d.payload, 'REPLACE');
    const failed = ((await pipe.exec()) ?? []).find(([e]) => e);
    if (failed) throw asMigrationError(failed[0], 'target');
  }
}

async function dumpKeys(src: Redis, keys: Buffer[]): Promise<Dumped[]> {
  const pipe = src.pipeline();
  for (const k of keys) pipe.pttl(k).dumpBuffer(k);
  const res = (await pipe.exec()) ?? [];
  const out: Dumped[] = [];
  for (let i = 0; i < keys.length; i++) {
    const [e1, ttl] = res[2 * i] ?? [];
    const [e2, payload] = res[2 * i + 1] ?? [];
    if (e1 || e2) throw asMigrationError(e1 ?? e2, 'source');
    // Gone between SCAN and DUMP (deleted or expired), or expiring this millisecond (PTTL 0: a
    // RESTORE with ttl 0 would keep it for ever): skipped, as the source is about to drop it.
    if (payload === null || ttl === -2 || ttl === 0) continue;
    out.push({ key: keys[i], ttl: Number(ttl) > 0 ? Number(ttl) : 0, payload: payload as Buffer });
  }
  return out;
}
