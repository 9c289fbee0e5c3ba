/**
 * Migration benchmark: 1,000,000 keys copied by a full migration between two instances of the
 * service (two local redis-servers attached with redis_url), against a baseline measured in the
 * same run: `redis-cli --rdb` (the source's snapshot) plus `redis-cli --pipe` loading the same
 * keys into a fresh redis-server. The baseline is favoured: the RESP it pipes is generated before
 * the clock starts, where a real RDB-to-RESP conversion would take time of its own, and the
 * source's diskless-sync delay is set to 0 so the snapshot starts at once.
 * Prints `migrate_keys_per_s=`, `baseline_keys_per_s=`, and last `migrate_vs_baseline_ratio=`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { client, waitFor } from '../test/helpers/client.js';
import { startService, tempDir } from '../test/helpers/service.js';
import { startRedis, type TestRedis } from '../test/helpers/redis.js';

const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000);

/** RESP for KEYS keys: strings of 16–24 bytes, every tenth with a TTL; a few hashes. */
function protocol(): Buffer {
  const parts: string[] = [];
  const cmd = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
  for (let i = 0; i < KEYS; i++) {
    const k = `key:${i}`;
    if (i % 50 === 0) parts.push(cmd('HSET', k, 'a', String(i), 'b', `value-${i}`));
    else if (i % 10 === 0) parts.push(cmd('SET', k, `value-${i}-padding`, 'PX', '3600000'));
    else parts.push(cmd('SET', k, `value-${i}-padding`));
  }
  return Buffer.from(parts.join(''));
}

function run(cmd: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [input ? fs.openSync(input, 'r') : 'ignore', 'ignore', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

async function dbsize(r: TestRedis): Promise<number> {
  const c = r.client();
  try {
    return await c.dbsize();
  } finally {
    c.disconnect();
  }
}

async function main(): Promise<void> {
  const dir = tempDir('dcs-bench-migrate-');
  const protoFile = path.join(dir, 'keys.resp');
  fs.writeFileSync(protoFile, protocol());
  const source = await startRedis();
  const target = await startRedis();
  const baselineTarget = await startRedis();
  try {
    await run('redis-cli', ['-p', String(source.port), '--pipe'], protoFile);
    if ((await dbsize(source)) !== KEYS) throw new Error('seeding the source failed');

    // Baseline: snapshot of the source, then the same keys piped into a fresh Redis. A replica's
    // sync (which `--rdb` is) waits repl-diskless-sync-delay (5 s) for more replicas: not the copy's cost.
    const cfg = source.client();
    await cfg.config('SET', 'repl-diskless-sync-delay', '0');
    cfg.disconnect();
    const b0 = performance.now();
    await run('redis-cli', ['-p', String(source.port), '--rdb', path.join(dir, 'source.rdb')]);
    await run('redis-cli', ['-p', String(baselineTarget.port), '--pipe'], protoFile);
    const baselineS = (performance.now() - b0) / 1000;
    if ((await dbsize(baselineTarget)) !== KEYS) throw new Error('the baseline did not load every key');

    const svc = await startService({ args: ['--log-level', 'warn'] });
    try {
      const admin = client(svc.url, svc.admin);
      const attach = async (name: string, r: TestRedis) => {
        const res = await admin.post('/v2/{p}/instances', { name, engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: r.url });
        if (res.status !== 200) throw new Error(res.text);
        return res.body.instances[0].instance_id as string;
      };
      const [sourceId, targetId] = [await attach('bench-source', source), await attach('bench-target', target)];
      const t0 = performance.now();
      const created = await admin.post('/v2/{p}/migration-task', {
        task_name: 'bench', migration_type: 'online_migration', migration_method: 'full_amount_migration',
        source_instance: { id: sourceId }, target_instance: { id: targetId },
      });
      if (created.status !== 200) throw new Error(created.text);
      const status = await waitFor(async () => {
        const s = (await admin.get(`/v2/{p}/migration-task/${created.body.id}`)).body.status;
        return s !== 'MIGRATING' && s;
      }, 600_000, 'the migration');
      const oursS = (performance.now() - t0) / 1000;
      if (status !== 'SUCCESS') throw new Error(`migration ended ${status}`);
      if ((await dbsize(target)) !== KEYS) throw new Error('the migration did not copy every key');

      const ours = KEYS / oursS;
      const baseline = KEYS / baselineS;
      console.log(`keys=${KEYS} migrate_s=${oursS.toFixed(2)} baseline_s=${baselineS.toFixed(2)}`);
      console.log(`migrate_keys_per_s=${Math.round(ours)}`);
      console.log(`baseline_keys_per_s=${Math.round(baseline)}`);
      console.log(`migrate_vs_baseline_ratio=${(ours / baseline).toFixed(2)}`);
    } finally {
      await svc.stop();
    }
  } finally {
    await Promise.all([source.stop(), target.stop(), baselineTarget.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
