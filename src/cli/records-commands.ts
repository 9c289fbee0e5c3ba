/**
 * `dcs-tasks backups …`, `bigkeys …`, `hotkeys …`, `expire-scans …`: the DCS records
 * (records.md) through the typed client. `--wait` polls a record until it is finished.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { DcsTasksClient, KeyAnalysis, KeyAnalysisKind, ScanStatus } from '../client/index.js';
import { clientCommand, connect, group, intArg, type ConnectionFlags } from './connection.js';
import { EXIT, ExitWith, UsageError, action, fields, out, printJson, table, when } from './output.js';
import { isoTimeArg, pageLine, repeated, timeArg } from './window.js';

type PageFlags = ConnectionFlags & { offset?: number; limit?: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done` says the record is finished; exit 4 when it ended failed. */
async function untilDone<T>(read: () => Promise<T | undefined>, done: (x: T) => 'ok' | 'failed' | null, intervalMs = 500): Promise<T> {
  for (;;) {
    const x = await read();
    const end = x === undefined ? null : done(x);
    if (x !== undefined && end === 'ok') return x;
    if (x !== undefined && end === 'failed') {
      printJson(x);
      throw new ExitWith(EXIT.taskFailed);
    }
    await sleep(intervalMs);
  }
}

const scanEnd = (s: { status: ScanStatus }) => (s.status === 'success' ? 'ok' : s.status === 'failed' ? 'failed' : null);

function paging(cmd: Command): Command {
  return cmd.option('--offset <n>', 'skip this many', intArg(0)).option('--limit <n>', 'page size, 1-1000 (default 10)', intArg(1, 1000));
}

export function registerRecordCommands(program: Command): void {
  registerBackupCommands(program);
  for (const kind of ['bigkey', 'hotkey'] as const) registerAnalysisCommands(program, kind);
  registerExpireScanCommands(program);
}

function registerBackupCommands(program: Command): void {
  const backups = group(program, 'backups', 'backups and restores of an instance', 'dcs-tasks backups create <ID> --wait');

  paging(clientCommand(backups, 'list <instance_id>', 'backups, newest first (every status)', 'dcs-tasks backups list <ID> --limit 20'))
    .option('--begin-time <time>', 'created at or after (yyyyMMddHHmmss UTC or ISO-8601)', timeArg)
    .option('--end-time <time>', 'created at or before (inclusive)', timeArg)
    .action(action(async (id: string, f: PageFlags & { beginTime?: string; endTime?: string }) => {
      const r = await connect(f).listBackups(id, { offset: f.offset, limit: f.limit, begin_time: f.beginTime, end_time: f.endTime });
      if (f.json) return printJson(r);
      out(table(['ID', 'NAME', 'TYPE', 'FORMAT', 'STATUS', 'SIZE', 'CREATED', 'REMARK'], r.backup_record_response.map((b) =>
        [b.backup_id, b.backup_name, b.backup_type, b.backup_format, b.status, b.size === null ? '-' : String(b.size), when(b.created_at), b.remark ?? ''])));
      out(pageLine(`dcs-tasks backups list ${id}`, repeated({ '--limit': f.limit, '--begin-time': f.beginTime, '--end-time': f.endTime }),
        f.offset ?? 0, r.backup_record_response.length, r.total_num, 'backups'));
    }));

  clientCommand(backups, 'create <instance_id>', 'back up an instance (BGSAVE, or BGREWRITEAOF with --format aof)', 'dcs-tasks backups create <ID> --format rdb --wait')
    .option('--format <rdb|aof>', 'rdb (default) or aof')
    .option('--remark <text>', 'remark, at most 128 characters')
    .option('--wait', 'wait until the backup is finished (exit 4 if it failed)')
    .action(action(async (id: string, f: ConnectionFlags & { format?: 'rdb' | 'aof'; remark?: string; wait?: boolean }) => {
      const c = connect(f);
      const r = await c.createBackup(id, { backup_format: f.format, remark: f.remark });
      const b = f.wait ? await untilDone(() => c.getBackup(id, r.backup_id), (x) => (x.status === 'succeed' ? 'ok' : x.status === 'failed' ? 'failed' : null)) : null;
      if (f.json) return printJson(b ?? r);
      out(b ? `backup ${b.backup_id} succeed (${b.size} bytes)` : `created backup ${r.backup_id}`);
    }));

  clientCommand(backups, 'delete <instance_id> <backup_id>', 'delete a backup file (the record stays, status deleted)', 'dcs-tasks backups delete <ID> <BACKUP>')
    .action(action(async (id: string, backupId: string, f: ConnectionFlags) => {
      await connect(f).deleteBackup(id, backupId);
      if (f.json) return printJson({ backup_id: backupId, deleted: true });
      out(`deleted backup ${backupId}`);
    }));

  clientCommand(backups, 'download <instance_id> <backup_id>', 'download a backup file through a signed link', 'dcs-tasks backups download <ID> <BACKUP> --output dump.rdb')
    .option('--output <file>', 'where to write it (default: the file name, in the current directory)')
    .action(action(async (id: string, backupId: string, f: ConnectionFlags & { output?: string }) => {
      const { links: [link] } = await connect(f).getBackupLinks(id, backupId, 300);
      const res = await fetch(link!.link);
      if (!res.ok) throw new Error(`the download failed: HTTP ${res.status}`);
      const file = f.output ?? path.basename(link!.file_name);
      fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()), { mode: 0o600 });
      if (f.json) return printJson({ file, file_name: link!.file_name, bytes: fs.statSync(file).size });
      out(`wrote ${file} (${fs.statSync(file).size} bytes)`);
    }));

  clientCommand(backups, 'restore <instance_id> <backup_id>', "restore an instance from one of its backups (its data becomes the backup's)", 'dcs-tasks backups restore <ID> <BACKUP> --wait')
    .option('--remark <text>', 'remark, at most 128 characters')
    .option('--wait', 'wait until the restore is finished (exit 4 if it failed)')
    .action(action(async (id: string, backupId: string, f: ConnectionFlags & { remark?: string; wait?: boolean }) => {
      const c = connect(f);
      const r = await c.restoreInstance(id, { backup_id: backupId, remark: f.remark });
      const done = f.wait
        ? await untilDone(async () => (await c.listRestores(id, { limit: 1000 })).restore_record_response.find((x) => x.restore_id === r.restore_id),
          (x) => (x.status === 'succeed' ? 'ok' : x.status === 'failed' ? 'failed' : null))
        : null;
      if (f.json) return printJson(done ?? r);
      out(done ? `restore ${r.restore_id} succeed` : `started restore ${r.restore_id}`);
    }));

  paging(clientCommand(backups, 'restores <instance_id>', 'restores, newest first', 'dcs-tasks backups restores <ID>'))
    .action(action(async (id: string, f: PageFlags) => {
      const r = await connect(f).listRestores(id, { offset: f.offset, limit: f.limit });
      if (f.json) return printJson(r);
      out(table(['ID', 'BACKUP', 'STATUS', 'CREATED', 'ERROR'], r.restore_record_response.map((x) =>
        [x.restore_id, x.backup_id, x.status, when(x.created_at), x.error_code ?? ''])));
    }));
}

function printAnalysis(a: KeyAnalysis): void {
  out(fields([['id', a.id], ['status', a.status], ['type', a.scan_type], ['created', when(a.created_at)], ['finished', when(a.finished_at ?? undefined)],
    ['keys', a.num], ['fail reason', a.fail_reason]]));
  if (a.keys?.length) {
    out('');
    out(table(['KEY', 'TYPE', 'DB', 'SIZE', 'UNIT', ...(a.keys[0]!.freq === undefined ? [] : ['FREQ'])], a.keys.map((k) =>
      [k.name, k.type, String(k.db), String(k.size), k.unit, ...(k.freq === undefined ? [] : [String(k.freq)])])));
  }
}

function registerAnalysisCommands(program: Command, kind: KeyAnalysisKind): void {
  const what = kind === 'bigkey' ? 'big-key' : 'hot-key';
  const g = group(program, `${kind}s`, `${what} analyses of an instance`, `dcs-tasks ${kind}s create <ID> --wait`);
  const read = (c: DcsTasksClient, id: string, taskId: string) => c.getKeyAnalysis(kind, id, taskId);

  clientCommand(g, 'create <instance_id>', `start a ${what} analysis`, `dcs-tasks ${kind}s create <ID> --wait`)
    .option('--wait', 'wait until it is finished and print the keys (exit 4 if it failed)')
    .action(action(async (id: string, f: ConnectionFlags & { wait?: boolean }) => {
      const c = connect(f);
      const a = await c.createKeyAnalysis(kind, id);
      const done = f.wait ? await untilDone(() => read(c, id, a.id), scanEnd) : a;
      if (f.json) return printJson(done);
      printAnalysis(done);
    }));

  paging(clientCommand(g, 'list <instance_id>', `${what} analyses, newest first`, `dcs-tasks ${kind}s list <ID>`))
    .option('--status <status>', 'waiting, running, success or failed')
    .action(action(async (id: string, f: PageFlags & { status?: ScanStatus }) => {
      const r = await connect(f).listKeyAnalyses(kind, id, { offset: f.offset, limit: f.limit, status: f.status });
      if (f.json) return printJson(r);
      out(table(['ID', 'STATUS', 'TYPE', 'CREATED', 'FINISHED'], r.records.map((x) => [x.id, x.status, x.scan_type, when(x.created_at), when(x.finished_at ?? undefined)])));
      out(pageLine(`dcs-tasks ${kind}s list ${id}`, repeated({ '--limit': f.limit, '--status': f.status }), f.offset ?? 0, r.records.length, r.count, 'analyses'));
    }));

  clientCommand(g, 'show <instance_id> <id>', `one ${what} analysis with its keys`, `dcs-tasks ${kind}s show <ID> <ANALYSIS>`)
    .action(action(async (id: string, taskId: string, f: ConnectionFlags) => {
      const a = await read(connect(f), id, taskId);
      if (f.json) return printJson(a);
      printAnalysis(a);
    }));

  clientCommand(g, 'delete <instance_id> <id>', `delete a finished ${what} analysis`, `dcs-tasks ${kind}s delete <ID> <ANALYSIS>`)
    .action(action(async (id: string, taskId: string, f: ConnectionFlags) => {
      const a = await connect(f).deleteKeyAnalysis(kind, id, taskId);
      if (f.json) return printJson(a);
      out(`deleted ${what} analysis ${a.id}`);
    }));

  clientCommand(g, 'autoscan <instance_id>', `show or set the daily automatic ${what} analysis`, `dcs-tasks ${kind}s autoscan <ID>`)
    .option('--at <HH:mm...>', 'times of day (UTC); sets the configuration')
    .option('--enable', 'enable automatic analysis (with --at)')
    .action(action(async (id: string, f: ConnectionFlags & { at?: string[]; enable?: boolean }) => {
      const c = connect(f);
      const r = f.at ? await c.updateKeyAnalysisAutoscan(kind, id, { enable_auto_scan: f.enable === true, schedule_at: f.at }) : await c.getKeyAnalysisAutoscan(kind, id);
      if (f.json) return printJson(r);
      out(fields([['enabled', r.enable_auto_scan], ['at (UTC)', r.schedule_at.join(' ') || '-'], ['updated', when(r.updated_at ?? undefined)]]));
    }));
}

function registerExpireScanCommands(program: Command): void {
  const g = group(program, 'expire-scans', 'expired-key scans of an instance (SCAN releases expired keys)', 'dcs-tasks expire-scans create <ID> --wait');

  clientCommand(g, 'create <instance_id>', 'start an expired-key scan', 'dcs-tasks expire-scans create <ID> --wait')
    .option('--wait', 'wait until it is finished (exit 4 if it failed)')
    .action(action(async (id: string, f: ConnectionFlags & { wait?: boolean }) => {
      const c = connect(f);
      const s = await c.createExpireScan(id);
      const done = f.wait ? await untilDone(async () => (await c.listExpireScans(id, { limit: 1000 })).records.find((x) => x.id === s.id), scanEnd) : null;
      if (f.json) return printJson(done ?? s);
      out(done ? `scan ${done.id} released ${done.num} expired keys` : `started expired-key scan ${s.id}`);
    }));

  paging(clientCommand(g, 'list <instance_id>', 'expired-key scans, newest first, with the keys each released', 'dcs-tasks expire-scans list <ID>'))
    .option('--status <status>', 'waiting, running, success or failed')
    .action(action(async (id: string, f: PageFlags & { status?: ScanStatus }) => {
      const r = await connect(f).listExpireScans(id, { offset: f.offset, limit: f.limit, status: f.status });
      if (f.json) return printJson(r);
      out(table(['ID', 'STATUS', 'TYPE', 'RELEASED', 'CREATED', 'FAIL REASON'], r.records.map((x) =>
        [x.id, x.status, x.scan_type, String(x.num), when(x.created_at), x.fail_reason ?? ''])));
      out(pageLine(`dcs-tasks expire-scans list ${id}`, repeated({ '--limit': f.limit, '--status': f.status }), f.offset ?? 0, r.records.length, r.count, 'scans'));
      out(`they released ${r.total} keys in all`);
    }));

  clientCommand(g, 'autoscan <instance_id>', 'show or change the automatic expired-key scans', 'dcs-tasks expire-scans autoscan <ID>')
    .option('--enable', 'enable automatic scans')
    .option('--disable', 'disable automatic scans')
    .option('--first <time>', 'first scan (yyyyMMddHHmmss UTC or ISO-8601)', isoTimeArg)
    .option('--interval <s>', 'seconds between scans (0: only the first)', intArg(0, 2 ** 31 - 1))
    .option('--timeout <s>', 'seconds one automatic scan may run', intArg(0, 2 ** 31 - 1))
    .option('--count <n>', 'keys per SCAN, 10-1000', intArg(10, 1000))
    .action(action(async (id: string, f: ConnectionFlags & { enable?: boolean; disable?: boolean; first?: string; interval?: number; timeout?: number; count?: number }) => {
      if (f.enable && f.disable) throw new UsageError('--enable and --disable: one or the other.');
      const c = connect(f);
      const change = { enable_auto_scan: f.enable ? true : f.disable ? false : undefined, first_scan_at: f.first, interval: f.interval, timeout: f.timeout, scan_keys_count: f.count };
      const r = Object.values(change).some((v) => v !== undefined) ? await c.updateExpireAutoscan(id, change) : await c.getExpireAutoscan(id);
      if (f.json) return printJson(r);
      out(fields([['enabled', r.enable_auto_scan], ['first scan', r.first_scan_at], ['interval (s)', r.interval], ['timeout (s)', r.timeout],
        ['keys per SCAN', r.scan_keys_count], ['updated', when(r.updated_at ?? undefined)]]));
    }));
}
