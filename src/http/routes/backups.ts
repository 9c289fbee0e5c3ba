/**
 * Backups and restores (records.md §1–2): the record routes below /v2/{project_id}, and the
 * signed download route outside it. Handlers call BackupService; no rule lives here.
 */
import fs from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { BackupService, CreateBackupBody, CreateRestoreBody } from '../../records/backups.js';
import type { BackupRecord, RestoreRecord } from '../../records/records.js';
import { recordWindow } from '../query.js';
import { CHANGES, READS, complete, pathParams, responses } from '../schemas.js';

type P = { project_id: string; instance_id: string; backup_id: string };
type Q = Record<string, string | undefined>;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const percent = (p: number) => p.toFixed(2);

const NULLABLE_STRING = { type: ['string', 'null'] } as const;

const BACKUP = complete({
  type: 'object',
  properties: {
    backup_id: { type: 'string' }, period: NULLABLE_STRING, backup_name: { type: 'string' }, instance_id: { type: 'string' },
    size: { type: ['integer', 'null'] }, backup_type: { type: 'string', enum: ['manual', 'auto'] }, created_at: { type: 'string' },
    updated_at: { type: 'string' }, progress: { type: 'string' }, error_code: NULLABLE_STRING, remark: NULLABLE_STRING,
    status: { type: 'string', enum: ['waiting', 'backuping', 'succeed', 'failed', 'expired', 'deleted'] },
    is_support_restore: { type: 'string', enum: ['TRUE', 'FALSE'] }, backup_format: { type: 'string', enum: ['rdb', 'aof'] },
    execution_at: NULLABLE_STRING,
  },
} as const);

const RESTORE = complete({
  type: 'object',
  properties: {
    backup_id: { type: 'string' }, restore_id: { type: 'string' }, backup_name: { type: 'string' }, updated_at: { type: 'string' },
    restore_remark: NULLABLE_STRING, created_at: { type: 'string' }, progress: { type: 'string' }, error_code: NULLABLE_STRING,
    restore_name: { type: 'string' }, backup_remark: NULLABLE_STRING,
    status: { type: 'string', enum: ['waiting', 'restoring', 'succeed', 'failed'] },
  },
} as const);

export function backupView(b: BackupRecord) {
  return {
    backup_id: b.id, period: b.period, backup_name: b.name, instance_id: b.instanceId, size: b.size, backup_type: b.type,
    created_at: iso(b.createdAt)!, updated_at: iso(b.updatedAt)!, progress: percent(b.progress), error_code: b.errorCode,
    remark: b.remark, status: b.status, is_support_restore: b.status === 'succeed' ? 'TRUE' : 'FALSE', backup_format: b.format,
    execution_at: iso(b.executionAt),
  };
}

export function restoreView(r: RestoreRecord) {
  return {
    backup_id: r.backupId, restore_id: r.id, backup_name: r.backupName, updated_at: iso(r.updatedAt)!, restore_remark: r.remark,
    created_at: iso(r.createdAt)!, progress: percent(r.progress), error_code: r.errorCode,
    restore_name: `restore_${new Date(r.createdAt).toISOString().replace(/[-:T]/g, '').slice(0, 14)}`,
    backup_remark: r.backupRemark, status: r.status,
  };
}

const WINDOW_QUERY = {
  type: 'object',
  properties: {
    begin_time: { type: 'string', description: 'yyyyMMddHHmmss UTC, inclusive' },
    end_time: { type: 'string', description: 'yyyyMMddHHmmss UTC, inclusive (whole second)' },
    offset: { type: 'string' }, limit: { type: 'string' },
  },
} as const;

const withBackupId = { ...pathParams('project_id', 'instance_id'), required: ['project_id', 'instance_id', 'backup_id'] };
const backupIdParams = { ...withBackupId, properties: { ...withBackupId.properties, backup_id: { type: 'string' } } };

export const backupRoutes: FastifyPluginAsync<{ backups: BackupService }> = async (app, { backups }) => {
  app.post<{ Params: P; Body: CreateBackupBody | undefined }>('/instances/:instance_id/backups', {
    config: CHANGES,
    schema: {
      summary: 'Back up an instance (rdb via BGSAVE, aof via BGREWRITEAOF)', operationId: 'CopyInstance', tags: ['backups'],
      params: pathParams('project_id', 'instance_id'),
      body: { type: ['object', 'null'], properties: { remark: { type: 'string' }, backup_format: { type: 'string', enum: ['rdb', 'aof'] } } },
      response: responses({ 200: complete({ type: 'object', properties: { backup_id: { type: 'string' } } }) }),
    },
  }, async (req) => ({ backup_id: await backups.createBackup(req.params.project_id, req.params.instance_id, req.body ?? {}, req.caller) }));

  app.get<{ Params: P; Querystring: Q }>('/instances/:instance_id/backups', {
    config: READS,
    schema: {
      summary: 'List the backups of an instance', operationId: 'ListBackupRecords', tags: ['backups'],
      params: pathParams('project_id', 'instance_id'), querystring: WINDOW_QUERY,
      response: responses({ 200: complete({ type: 'object', properties: { total_num: { type: 'integer' }, backup_record_response: { type: 'array', items: BACKUP } } }) }),
    },
  }, async (req) => {
    const { total, items } = await backups.listBackups(req.params.project_id, req.params.instance_id, recordWindow(req.query));
    return { total_num: total, backup_record_response: items.map(backupView) };
  });

  app.delete<{ Params: P }>('/instances/:instance_id/backups/:backup_id', {
    config: CHANGES,
    schema: {
      summary: 'Delete a backup file (the record stays, status deleted)', operationId: 'DeleteBackupFile', tags: ['backups'],
      params: backupIdParams, response: responses({ 204: { type: 'null' } }),
    },
  }, async (req, reply) => {
    await backups.deleteBackup(req.params.project_id, req.params.instance_id, req.params.backup_id, req.caller);
    return reply.code(204).send();
  });

  app.post<{ Params: P; Body: { expiration: number } }>('/instances/:instance_id/backups/:backup_id/links', {
    config: READS,
    schema: {
      summary: 'Signed, expiring download links of a backup file', operationId: 'ListBackupFileLinks', tags: ['backups'],
      params: backupIdParams,
      body: { type: 'object', required: ['expiration'], properties: { expiration: { type: 'integer', minimum: 300, maximum: 86400 } } },
      response: responses({
        200: complete({
          type: 'object',
          properties: {
            file_path: { type: 'string' }, bucket_name: { type: 'null' },
            links: { type: 'array', items: complete({ type: 'object', properties: { file_name: { type: 'string' }, link: { type: 'string' } } }) },
          },
        }),
      }),
    },
  }, async (req) => {
    const origin = `${req.protocol}://${req.headers.host ?? req.hostname}`;
    return backups.links(req.params.project_id, req.params.instance_id, req.params.backup_id, req.body.expiration, origin);
  });

  app.post<{ Params: P; Body: CreateRestoreBody }>('/instances/:instance_id/restores', {
    config: CHANGES,
    schema: {
      summary: 'Restore an instance from one of its backups', operationId: 'RestoreInstance', tags: ['backups'],
      params: pathParams('project_id', 'instance_id'),
      body: { type: 'object', required: ['backup_id'], properties: { backup_id: { type: 'string' }, remark: { type: 'string' } } },
      response: responses({ 200: complete({ type: 'object', properties: { restore_id: { type: 'string' } } }) }),
    },
  }, async (req) => ({ restore_id: await backups.createRestore(req.params.project_id, req.params.instance_id, req.body, req.caller) }));

  app.get<{ Params: P; Querystring: Q }>('/instances/:instance_id/restores', {
    config: READS,
    schema: {
      summary: 'List the restores of an instance', operationId: 'ListRestoreRecords', tags: ['backups'],
      params: pathParams('project_id', 'instance_id'), querystring: WINDOW_QUERY,
      response: responses({ 200: complete({ type: 'object', properties: { restore_record_response: { type: 'array', items: RESTORE }, total_num: { type: 'integer' } } }) }),
    },
  }, async (req) => {
    const { total, items } = await backups.listRestores(req.params.project_id, req.params.instance_id, recordWindow(req.query));
    return { restore_record_response: items.map(restoreView), total_num: total };
  });
};

/** The download links' target: no credentials, the link's signature instead. */
export const downloadRoutes: FastifyPluginAsync<{ backups: BackupService }> = async (app, { backups }) => {
  app.route<{ Params: { backup_id: string; file_name: string }; Querystring: Q }>({
    method: ['GET', 'HEAD'],
    url: '/downloads/backups/:backup_id/:file_name',
    schema: {
      summary: 'Download a backup file through a link from ListBackupFileLinks (the link\'s signature, no credentials)',
      tags: ['backups'], security: [],
    },
    handler: async (req, reply) => {
      const { file, size } = await backups.download(req.params.backup_id, req.params.file_name, req.query.Expires, req.query.Signature);
      reply.header('Content-Type', 'application/octet-stream').header('Content-Length', size)
        .header('Content-Disposition', `attachment; filename="${req.params.file_name}"`);
      return req.method === 'HEAD' ? reply.send() : reply.send(fs.createReadStream(file));
    },
  });
};
