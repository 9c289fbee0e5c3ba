/**
 * The record commands of `dcs-tasks` (backups, bigkeys, hotkeys, expire-scans), run as the real
 * binary against the real service and a real redis-server: the downloaded file is the backup,
 * the restore brings its data back, the analysis lists the key written, refusals exit 1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { client } from '../helpers/client.js';
import { createRunningInstance } from '../helpers/instance.js';
import { onRedis } from '../helpers/redis.js';
import { startService, tempDir, type Service } from '../helpers/service.js';
import { API_ERROR_LINE, cli, cliEnv, json } from '../helpers/cli.js';

let svc: Service;
let env: Record<string, string>;
let id: string;
let port: number;
const password = 'CliRec#Pass123';

before(async () => {
  svc = await startService();
  env = cliEnv(svc, svc.admin);
  ({ id, port } = await createRunningInstance(client(svc.url, svc.admin), 'cli-records', password));
});

after(async () => {
  await svc?.stop();
});

test('backups create --wait, list, download, restore --wait, delete', async () => {
  await onRedis(port, password, (r) => r.set('cli:kept', 'before'));
  const created = await cli(['backups', 'create', id, '--remark', 'from the cli', '--wait'], env);
  assert.equal(created.code, 0, created.stderr);
  const m = /^backup ([0-9a-f-]{36}) succeed \((\d+) bytes\)$/m.exec(created.stdout);
  assert.ok(m, created.stdout);
  const backupId = m[1]!;

  const list = await cli(['backups', 'list', id], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`^${backupId}\\s+backup_\\d{14}\\s+manual\\s+rdb\\s+succeed\\s+${m[2]}\\s`, 'm'));
  assert.equal(json(await cli(['backups', 'list', id, '--json'], env)).total_num, 1);

  const out = path.join(tempDir('dcs-cli-dl-'), 'copy.rdb');
  const dl = await cli(['backups', 'download', id, backupId, '--output', out], env);
  assert.equal(dl.code, 0, dl.stderr);
  const stored = path.join(svc.dataDir, 'backups', id, backupId);
  assert.ok(fs.readFileSync(out).equals(fs.readFileSync(path.join(stored, fs.readdirSync(stored)[0]!))), 'the downloaded bytes are the backup');

  await onRedis(port, password, (r) => r.set('cli:kept', 'after'));
  const restored = await cli(['backups', 'restore', id, backupId, '--wait'], env);
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, /^restore [0-9a-f-]{36} succeed$/m);
  assert.equal(await onRedis(port, password, (r) => r.get('cli:kept')), 'before');
  assert.match((await cli(['backups', 'restores', id], env)).stdout, new RegExp(`\\s${backupId}\\s+succeed\\s`));

  const del = await cli(['backups', 'delete', id, backupId], env);
  assert.equal(del.code, 0, del.stderr);
  const again = await cli(['backups', 'delete', id, backupId], env);
  assert.equal(again.code, 1);
  assert.match(again.stderr, API_ERROR_LINE('DCS.4031'));
});

test('bigkeys create --wait lists the key; hotkeys refused without LFU (exit 1); expire-scans create --wait and list', async () => {
  await onRedis(port, password, (r) => r.set('cli:big', 'b'.repeat(3000)));
  const big = await cli(['bigkeys', 'create', id, '--wait'], env);
  assert.equal(big.code, 0, big.stderr);
  assert.match(big.stdout, /^status:\s+success$/m);
  assert.match(big.stdout, /^cli:big\s+string\s+0\s+3000\s+byte$/m);
  const analyses = json(await cli(['bigkeys', 'list', id, '--json'], env));
  assert.equal(analyses.count, 1);

  const hot = await cli(['hotkeys', 'create', id], env);
  assert.equal(hot.code, 1);
  assert.match(hot.stderr, API_ERROR_LINE('DCS.4922'));

  const scan = await cli(['expire-scans', 'create', id, '--wait'], env);
  assert.equal(scan.code, 0, scan.stderr);
  assert.match(scan.stdout, /^scan [0-9a-f-]{36} released \d+ expired keys$/m);
  const scans = (await cli(['expire-scans', 'list', id], env)).stdout;
  assert.match(scans, /^1-1 of 1 scans$/m);
  assert.match(scans, /^they released \d+ keys in all$/m);
  // A list with more pages names the command for the next one, with the flags given.
  await cli(['expire-scans', 'create', id, '--wait'], env);
  assert.match((await cli(['expire-scans', 'list', id, '--limit', '1'], env)).stdout,
    new RegExp(`^1-1 of 2 scans; next page: dcs-tasks expire-scans list ${id} --limit 1 --offset 1$`, 'm'));

  const auto = await cli(['bigkeys', 'autoscan', id, '--at', '02:00', '01:30', '--enable'], env);
  assert.equal(auto.code, 0, auto.stderr);
  assert.match(auto.stdout, /^at \(UTC\):\s+01:30 02:00$/m);

  // Expired-key autoscan: either time form, checked on the client like every time flag.
  const next = new Date(Date.now() + 86_400_000);
  const compact = next.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const expire = await cli(['expire-scans', 'autoscan', id, '--json', '--first', compact, '--interval', '3600', '--timeout', '7200', '--count', '10'], env);
  assert.equal(expire.code, 0, expire.stderr);
  assert.equal(json(expire).first_scan_at, `${next.toISOString().slice(0, 19)}.000Z`);
  for (const [flags, message] of [
    [['--first', '20270231000000'], /is not a real time/], [['--count', '5'], /an integer from 10 to 1000/],
    [['--interval', String(2 ** 31)], /an integer from 0 to 2147483647/], [['--enable', '--disable'], /--enable and --disable: one or the other/],
  ] as [string[], RegExp][]) {
    const r = await cli(['expire-scans', 'autoscan', id, ...flags], env);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
