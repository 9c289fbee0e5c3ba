/**
 * Big-key and hot-key analyses and expired-key scans (records.md §3–5): the record routes below
 * /v2/{project_id}. Handlers call ScanService; no rule lives here.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { FoundKey, ScanRecord } from '../../records/records.js';
import type { ScanService } from '../../records/scans.js';
import type { DailyConfig, ExpireConfig, ExpireConfigBody } from '../../records/autoscan.js';
import { scanQuery } from '../query.js';
import { CHANGES, READS, complete, pathParams, responses } from '../schemas.js';

type P = { project_id: string; instance_id: string; id: string };
type Q = Record<string, string | undefined>;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const NULLABLE_STRING = { type: ['string', 'null'] } as const;
const STATUS = { type: 'string', enum: ['waiting', 'running', 'success', 'failed'] } as const;
const SCAN_TYPE = { type: 'string', enum: ['manual', 'auto'] } as const;

/** RecordsResponse: a list entry of big/hot-key analyses. */
const ENTRY_FIELDS = {
  id: { type: 'string' }, status: STATUS, scan_type: SCAN_TYPE, created_at: { type: 'string' }, started_at: NULLABLE_STRING,
  finished_at: NULLABLE_STRING,
} as const;

const keyBody = (hot: boolean) => complete({
  type: 'object',
  properties: {
    name: { type: 'string' }, type: { type: 'string', enum: ['string', 'list', 'set', 'zset', 'hash'] }, shard: { type: 'string' },
    db: { type: 'integer' }, size: { type: 'integer' }, unit: { type: 'string', enum: ['byte', 'count'] },
    ...(hot ? { freq: { type: 'integer' } } : {}),
  },
});

/** The analysis record (Show…/Create…/Delete… responses), with fail_reason (D7). */
const analysisRecord = (hot: boolean) => complete({
  type: 'object',
  properties: {
    ...ENTRY_FIELDS, instance_id: { type: 'string' }, num: { type: 'integer' },
    keys: { type: ['array', 'null'], items: keyBody(hot) }, fail_reason: NULLABLE_STRING,
  },
});

const times = (s: ScanRecord) => ({ created_at: iso(s.createdAt)!, started_at: iso(s.startedAt), finished_at: iso(s.finishedAt) });

const entryView = (s: ScanRecord) => ({ id: s.id, status: s.status, scan_type: s.scanType, ...times(s) });

const keyView = (hot: boolean) => (k: FoundKey) => ({
  name: k.name, type: k.type, shard: k.shard, db: k.db, size: k.size, unit: k.unit, ...(hot ? { freq: k.freq ?? 0 } : {}),
});

export const analysisView = (s: ScanRecord) => ({
  ...entryView(s), instance_id: s.instanceId, num: s.num, keys: s.keys === null ? null : s.keys.map(keyView(s.kind === 'hotkey')),
  fail_reason: s.failReason,
});

/** The expired-key scan record (SimpleKeyScanRecord, with fail_reason). */
export const expireScanView = (s: ScanRecord) => ({
  id: s.id, instance_id: s.instanceId, status: s.status, scan_type: s.scanType, num: s.num, ...times(s), fail_reason: s.failReason,
});

const EXPIRE_RECORD = complete({
  type: 'object',
  properties: {
    id: { type: 'string' }, instance_id: { type: 'string' }, status: STATUS, scan_type: SCAN_TYPE, num: { type: 'integer' },
    created_at: { type: 'string' }, started_at: NULLABLE_STRING, finished_at: NULLABLE_STRING, fail_reason: NULLABLE_STRING,
  },
} as const);
const { num: _num, ...EXPIRE_CREATED_FIELDS } = EXPIRE_RECORD.properties;
const EXPIRE_CREATED = complete({ type: 'object', properties: EXPIRE_CREATED_FIELDS });

const LIST_QUERY = {
  type: 'object',
  properties: { offset: { type: 'string' }, limit: { type: 'string' }, status: { type: 'string', description: 'waiting | running | success | failed' } },
} as const;

const withId = { ...pathParams('project_id', 'instance_id'), required: ['project_id', 'instance_id', 'id'] };
const idParams = { ...withId, properties: { ...withId.properties, id: { type: 'string' } } };

/** The two analysis families share every route shape; their operationIds are the SDK's. */
const ANALYSES = [
  {
    kind: 'bigkey', hot: false, tag: 'big keys',
    ids: { create: 'CreateBigkeyScanTask', list: 'ListBigkeyScanTasks', show: 'ShowBigkeyScanTaskDetails', del: 'DeleteBigkeyScanTask', showConfig: 'ShowBigkeyAutoscanConfig', putConfig: 'UpdateBigkeyAutoscanConfig' },
  },
  {
    kind: 'hotkey', hot: true, tag: 'hot keys',
    ids: { create: 'CreateHotkeyScanTask', list: 'ListHotKeyScanTasks', show: 'ShowHotkeyTaskDetails', del: 'DeleteHotkeyScanTask', showConfig: 'ShowHotkeyAutoscanConfig', putConfig: 'UpdateHotkeyAutoScanConfig' },
  },
] as const;

const DAILY_CONFIG = complete({
  type: 'object',
  properties: { instance_id: { type: 'string' }, enable_auto_scan: { type: 'boolean' }, schedule_at: { type: 'array', items: { type: 'string' } }, updated_at: NULLABLE_STRING },
} as const);
const DAILY_BODY = {
  type: 'object', required: ['enable_auto_scan', 'schedule_at'],
  properties: { enable_auto_scan: { type: 'boolean' }, schedule_at: { type: 'array', items: { type: 'string', maxLength: 5 }, description: 'HH:mm UTC, distinct, at most 24' } },
} as const;
const EXPIRE_CONFIG = complete({
  type: 'object',
  properties: {
    instance_id: { type: 'string' }, enable_auto_scan: { type: 'boolean' }, first_scan_at: NULLABLE_STRING, interval: { type: ['integer', 'null'] },
    timeout: { type: ['integer', 'null'] }, scan_keys_count: { type: ['integer', 'null'] }, updated_at: NULLABLE_STRING,
  },
} as const);
const EXPIRE_BODY = {
  type: 'object',
  properties: {
    enable_auto_scan: { type: 'boolean' }, first_scan_at: { type: 'string', maxLength: 64, description: 'ISO-8601 UTC, later than now' },
    interval: { type: 'integer', description: 'seconds, 0 to 2147483647' }, timeout: { type: 'integer', description: 'seconds, ≥ 2 × interval, at most 2147483647' },
    scan_keys_count: { type: 'integer', description: '10–1000' },
  },
} as const;

const configView = <C extends object>(instanceId: string, c: { config: C; updatedAt: number | null }) => ({ instance_id: instanceId, ...c.config, updated_at: iso(c.updatedAt) });

export const scanRoutes: FastifyPluginAsync<{ scans: ScanService }> = async (app, { scans }) => {
  for (const { kind, hot, tag, ids } of ANALYSES) {
    const record = analysisRecord(hot);
    app.post<{ Params: P }>(`/instances/:instance_id/${kind}-task`, {
      config: CHANGES,
      schema: { summary: `Start a ${tag} analysis`, operationId: ids.create, tags: ['key analysis'], params: pathParams('project_id', 'instance_id'), response: responses({ 200: record }) },
    }, async (req) => analysisView(await scans.create(req.params.project_id, req.params.instance_id, kind, req.caller)));

    app.get<{ Params: P; Querystring: Q }>(`/instances/:instance_id/${kind}-tasks`, {
      config: READS,
      schema: {
        summary: `List the ${tag} analyses of an instance`, operationId: ids.list, tags: ['key analysis'],
        params: pathParams('project_id', 'instance_id'), querystring: LIST_QUERY,
        response: responses({ 200: complete({ type: 'object', properties: { instance_id: { type: 'string' }, count: { type: 'integer' }, records: { type: 'array', items: complete({ type: 'object', properties: ENTRY_FIELDS }) } } }) }),
      },
    }, async (req) => {
      const { count, items } = await scans.list(req.params.project_id, req.params.instance_id, kind, scanQuery(req.query));
      return { instance_id: req.params.instance_id, count, records: items.map(entryView) };
    });

    app.get<{ Params: P }>(`/instances/:instance_id/${kind}-task/:id`, {
      config: READS,
      schema: { summary: `One ${tag} analysis with its keys`, operationId: ids.show, tags: ['key analysis'], params: idParams, response: responses({ 200: record }) },
    }, async (req) => analysisView(await scans.show(req.params.project_id, req.params.instance_id, kind, req.params.id)));

    app.delete<{ Params: P }>(`/instances/:instance_id/${kind}-task/:id`, {
      config: CHANGES,
      schema: { summary: `Delete a finished ${tag} analysis`, operationId: ids.del, tags: ['key analysis'], params: idParams, response: responses({ 200: record }) },
    }, async (req) => analysisView(await scans.delete(req.params.project_id, req.params.instance_id, kind, req.params.id, req.caller)));

    app.get<{ Params: P }>(`/instances/:instance_id/${kind}/autoscan`, {
      config: READS,
      schema: { summary: `The daily automatic ${tag} analysis`, operationId: ids.showConfig, tags: ['key analysis'], params: pathParams('project_id', 'instance_id'), response: responses({ 200: DAILY_CONFIG }) },
    }, async (req) => configView(req.params.instance_id, await scans.configs.get<DailyConfig>(req.params.project_id, req.params.instance_id, kind)));

    app.put<{ Params: P; Body: DailyConfig }>(`/instances/:instance_id/${kind}/autoscan`, {
      config: CHANGES,
      schema: { summary: `Configure the daily automatic ${tag} analysis`, operationId: ids.putConfig, tags: ['key analysis'], params: pathParams('project_id', 'instance_id'), body: DAILY_BODY, response: responses({ 200: DAILY_CONFIG }) },
    }, async (req) => configView(req.params.instance_id, await scans.configs.putDaily(req.params.project_id, req.params.instance_id, kind, req.body)));
  }

  app.get<{ Params: P }>('/instances/:instance_id/scan-expire-keys/autoscan-config', {
    config: READS,
    schema: { summary: 'The automatic expired-key scans', operationId: 'ShowExpireAutoScanConfig', tags: ['key analysis'], params: pathParams('project_id', 'instance_id'), response: responses({ 200: EXPIRE_CONFIG }) },
  }, async (req) => configView(req.params.instance_id, await scans.configs.get<ExpireConfig>(req.params.project_id, req.params.instance_id, 'expire')));

  app.put<{ Params: P; Body: ExpireConfigBody }>('/instances/:instance_id/scan-expire-keys/autoscan-config', {
    config: CHANGES,
    schema: { summary: 'Configure the automatic expired-key scans', operationId: 'UpdateExpireAutoScanConfig', tags: ['key analysis'], params: pathParams('project_id', 'instance_id'), body: EXPIRE_BODY, response: responses({ 200: EXPIRE_CONFIG }) },
  }, async (req) => configView(req.params.instance_id, await scans.configs.putExpire(req.params.project_id, req.params.instance_id, req.body ?? {})));

  const createExpireScan = (operationId: string, url: string) => app.post<{ Params: P }>(url, {
    config: CHANGES,
    schema: { summary: 'Scan for expired keys (SCAN releases them)', operationId, tags: ['key analysis'], params: pathParams('project_id', 'instance_id'), response: responses({ 200: EXPIRE_CREATED }) },
  }, async (req) => {
    const { num: _n, ...created } = expireScanView(await scans.create(req.params.project_id, req.params.instance_id, 'expire', req.caller));
    return created;
  });
  createExpireScan('CreateAutoExpireScanTask', '/instances/:instance_id/scan-expire-keys-task');
  createExpireScan('ScanExpireKey', '/instances/:instance_id/auto-expire/scan');

  app.get<{ Params: P; Querystring: Q }>('/instances/:instance_id/auto-expire/histories', {
    config: READS,
    schema: {
      summary: 'The expired-key scans of an instance', operationId: 'ShowExpireKeyScanInfo', tags: ['key analysis'],
      params: pathParams('project_id', 'instance_id'), querystring: LIST_QUERY,
      response: responses({ 200: complete({ type: 'object', properties: { records: { type: 'array', items: EXPIRE_RECORD }, instance_id: { type: 'string' }, total: { type: 'integer' }, count: { type: 'integer' } } }) }),
    },
  }, async (req) => {
    const { count, sumNum, items } = await scans.list(req.params.project_id, req.params.instance_id, 'expire', scanQuery(req.query));
    return { records: items.map(expireScanView), instance_id: req.params.instance_id, total: sumNum, count };
  });
};
