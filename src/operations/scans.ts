/**
 * Key analyses and expired-key scans (records.md §3–5) as engine tasks. Like backups they are
 * DCS records, never background tasks; unlike them they hold no active-task slot (the store
 * marks their tasks with the scan's kind), so they block nothing and run beside any task. Their
 * requests are served by http/routes/scans.ts through records/scans.ts.
 */
import { LeaseLost, StepFailure } from '../engine/operation.js';
import { NotLfu, expiredKeysCount, walkKeyspace, type KeyType, type SeenKey } from '../redis/keyspace.js';
import type { FoundKey, ScanPatch } from '../records/records.js';
import type { InstanceOperation, OperationModule, OpRun } from './operation.js';

export interface ScanState {
  /** keys per SCAN iteration (expired-key scans: the autoscan config's scan_keys_count) */
  count?: number;
  /** seconds an expired-key scan may run (automatic ones: the config's timeout) */
  timeoutSeconds?: number | null;
}

const FAILED = 'DCS.5000';
const SCAN_COUNT = 1000;
/** Scans have their own limits (timeout of expired-key scans), not the engine's step timeout. */
const STEP_TIMEOUT_MS = 24 * 3600_000;
/** D13: 20 keys per type; D13: the 100 hottest keys. */
const PER_TYPE = 20;
const HOT_KEYS = 100;
const TYPE_ORDER: KeyType[] = ['string', 'list', 'set', 'zset', 'hash'];
export const INTERRUPTED = 'interrupted by service restart';

async function writeScan<S>(x: OpRun<S>, patch: ScanPatch): Promise<void> {
  if (!(await x.records.updateScanAsTask(x.fence(), x.taskId, patch))) throw new LeaseLost();
}

/** Ties: lower db, then the name bytewise. */
const byPlace = (a: SeenKey, b: SeenKey) => a.db - b.db || Buffer.compare(a.name, b.name);

/** Keeps the `n` first of a growing list under `order`, trimming only now and then. */
class Top {
  private items: SeenKey[] = [];
  constructor(private readonly n: number, private readonly order: (a: SeenKey, b: SeenKey) => number) {}
  add(k: SeenKey): void {
    this.items.push(k);
    if (this.items.length >= 4 * this.n) this.trim();
  }
  result(): SeenKey[] {
    this.trim();
    return this.items;
  }
  private trim(): void {
    this.items = this.items.sort(this.order).slice(0, this.n);
  }
}

function shown(k: SeenKey, shard: string): FoundKey {
  return {
    name: k.name.toString('utf8'), type: k.type, shard, db: k.db, size: k.size, unit: k.type === 'string' ? 'byte' : 'count',
    ...(k.freq === undefined ? {} : { freq: k.freq }),
  };
}

/** The instance must be RUNNING when a scan starts (or starts again after a crash). */
async function start<S>(x: OpRun<S>) {
  const i = await x.instance();
  if (i.status !== 'RUNNING') throw new StepFailure(FAILED, `The instance is ${i.status}, not RUNNING.`);
  return { i, target: x.target(i), shard: `${i.host}:${i.port}` };
}

/** Big-key and hot-key analyses: a crashed run starts again from cursor 0 (partial results dropped). */
function analysis(name: string, what: string, collect: () => { add(k: SeenKey): void; result(): SeenKey[] }, withFreq: boolean): InstanceOperation<ScanState> {
  return {
    name,
    busy: { code: 'DCS.4026', what },
    steps: [{
      name: 'Walk the keyspace',
      timeoutMs: STEP_TIMEOUT_MS,
      run: async (x) => {
        const { target, shard } = await start(x);
        await writeScan(x, { status: 'running', startedAt: Date.now(), num: 0, keys: null });
        const top = collect();
        try {
          await walkKeyspace(target, { count: SCAN_COUNT, signal: x.signal, withFreq }, (k) => top.add(k));
        } catch (e) {
          if (e instanceof NotLfu) throw new StepFailure(FAILED, `The maxmemory-policy is no longer LFU: ${e.message}`);
          throw e;
        }
        const keys = top.result().map((k) => shown(k, shard));
        await writeScan(x, { status: 'success', finishedAt: Date.now(), num: keys.length, keys });
      },
    }],
    onFailure: async (x, e) => {
      await writeScan(x, { status: 'failed', finishedAt: Date.now(), failReason: e.message });
    },
  };
}

/** The 20 largest keys of each type, by type then size descending. */
function bigKeys() {
  const tops = new Map(TYPE_ORDER.map((t) => [t, new Top(PER_TYPE, (a, b) => b.size - a.size || byPlace(a, b))]));
  return {
    add: (k: SeenKey) => tops.get(k.type)!.add(k),
    result: () => TYPE_ORDER.flatMap((t) => tops.get(t)!.result()),
  };
}

const hotKeys = () => new Top(HOT_KEYS, (a, b) => b.freq! - a.freq! || byPlace(a, b));

export const bigkeyOperation = analysis('bigkeyAnalysis', 'being analysed for big keys', bigKeys, false);
export const hotkeyOperation = analysis('hotkeyAnalysis', 'being analysed for hot keys', hotKeys, true);

/**
 * Expired-key scan: SCAN releases the expired keys it visits; `num` is the rise of INFO stats
 * expired_keys. Its count cannot be rebuilt after a crash, so a run found `running` fails.
 */
export const expireScanOperation: InstanceOperation<ScanState> = {
  name: 'expireKeyScan',
  busy: { code: 'DCS.4026', what: 'being scanned for expired keys' },
  steps: [{
    name: 'Scan the keyspace',
    timeoutMs: STEP_TIMEOUT_MS,
    run: async (x) => {
      const record = await x.records.getScan(x.taskId);
      if (record?.status === 'running') throw new StepFailure(FAILED, INTERRUPTED);
      const { target } = await start(x);
      const startedAt = Date.now();
      await writeScan(x, { status: 'running', startedAt, num: 0 });
      const before = await expiredKeysCount(target);
      const deadline = x.state.timeoutSeconds ? startedAt + x.state.timeoutSeconds * 1000 : undefined;
      const whole = await walkKeyspace(target, { count: x.state.count ?? SCAN_COUNT, signal: x.signal, scanOnly: true, deadline });
      const num = Math.max(0, (await expiredKeysCount(target)) - before);
      if (!whole) {
        await writeScan(x, { num });
        throw new StepFailure(FAILED, 'timeout');
      }
      await writeScan(x, { status: 'success', finishedAt: Date.now(), num });
    },
  }],
  onFailure: async (x, e) => {
    await writeScan(x, { status: 'failed', finishedAt: Date.now(), failReason: e.message });
  },
};

export default {
  operations: [bigkeyOperation, hotkeyOperation, expireScanOperation],
  endpoints: [],
} satisfies OperationModule;
