/**
 * A migration's run: the engine task (`migrateData`) that carries out a migration, leased and
 * fenced like every task. Its "instance" is the migration itself (task.instanceId = migration
 * id), so one run at most is active per migration. Steps:
 *   1. the full copy (or the import of files), resumable from the saved database and SCAN cursor
 *      (resume_mode auto) or failed when interrupted (manual);
 *   2. for incremental migrations, following the source's writes until a stop or sync-stop.
 * Every change of the migration record is fenced by the run's lease in the same statement.
 */
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { LeaseLost, StepFailure, type HookContext, type Operation, type StepContext } from '../engine/operation.js';
import { waitOrAbort } from '../engine/wait.js';
import type { Store } from '../store/types.js';
import { commandName, type RedisTarget } from '../redis/commands.js';
import type { InstanceRecord } from '../instances/records.js';
import type { CopyProgress, MigrationEndpoint, MigrationRecord, MigrationRunPatch } from './records.js';
import { Interrupted, RedisRefused, asMigrationError, attach, detach, fullCopy, link, masterOffset, open, type LinkState } from './copier.js';
import { importFiles, type ImportDeps } from './import.js';

export const MIGRATION_RUN = 'migrateData';
export const RUN_STEPS = ['Copy every key', "Follow the source's writes"] as const;

/** Steps wait on Redis, not on a clock: the largest timer Node accepts. */
const NO_TIMEOUT = 2 ** 31 - 1;
/** A lost source is retried every 5 s; after 60 s the run fails (§4.7). */
export const RETRY_EVERY_MS = Number(process.env.DCS_MIGRATION_RETRY_MS ?? 0) || 5000;
export const GIVE_UP_AFTER_MS = Number(process.env.DCS_MIGRATION_GIVE_UP_MS ?? 0) || 60_000;
/** How often a run reads its record for a stop request. */
const POLL_MS = 300;

interface RunState {
  copyStarted?: boolean;
}

export interface RunDeps extends ImportDeps {
  store: Store;
  /** How to reach an instance of this service. */
  targetOf(i: InstanceRecord): RedisTarget;
  logger: Logger;
}

/** Where an endpoint is now: an instance as stored (its password unless one was given), or an address. */
export async function endpointTarget(d: Pick<RunDeps, 'store' | 'targetOf'>, e: MigrationEndpoint, password: string | null): Promise<RedisTarget> {
  if (e.instanceId) {
    const i = await d.store.getInstanceById(e.instanceId);
    if (!i) throw new RedisRefused(`instance ${e.instanceId} no longer exists`);
    const t = d.targetOf(i);
    return { ...t, password: password ?? t.password };
  }
  const { host, port } = parseAddrs(e.addrs ?? '');
  return { host, port, password };
}

/** `host:port`, IPv6 in brackets. One address: a list (a cluster's nodes) names Redis servers this service cannot copy as one. */
export function parseAddrs(addrs: string): { host: string; port: number } {
  const one = addrs.trim();
  if (one.includes(',')) throw new RedisRefused(`"${one}" lists several addresses; give one host:port (a single Redis, not a cluster)`);
  // A host name (letters, digits, dots, hyphens, underscores; ≤ 253), an IPv4 address, or an IPv6 one in brackets.
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]{1,253})):(\d{1,5})$/.exec(one);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) throw new RedisRefused(`"${one.slice(0, 100)}" is not a host:port address`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** `bandwidth_limit_mb` in bytes per second, or null for no limit. */
const bandwidthOf = (m: MigrationRecord) => (m.bandwidthLimitMb ? m.bandwidthLimitMb * 1024 * 1024 : null);

export function migrationRun(d: RunDeps): Operation<RunState> {
  const log = async (m: MigrationRecord | string, level: 'INFO' | 'ERROR', code: string, message: string) =>
    d.store.migrations.appendLog(typeof m === 'string' ? m : m.id, level, code, message, Date.now());

  const current = async (ctx: HookContext<RunState>): Promise<MigrationRecord> => {
    const m = await d.store.migrations.getMigrationById(ctx.task.instanceId);
    if (!m) throw new StepFailure('DCS.4133', 'The migration task was deleted while it ran.');
    return m;
  };

  const save = async (ctx: HookContext<RunState>, patch: MigrationRunPatch): Promise<void> => {
    if (!(await d.store.migrations.updateAsRun({ ...ctx.fence, now: Date.now() }, ctx.task.instanceId, patch))) throw new LeaseLost();
  };

  /**
   * The stop requests of a run, read from the record every POLL_MS until `end()`: `request()` is
   * the last one seen (a deleted record counts as a stop; a failed read is asked again). `signal`
   * fires on a stop or on the run's own interruption, so waits (connecting, between retries,
   * throttled) end at once; `stopped()` tells a stop apart.
   */
  const watchStop = (ctx: HookContext<RunState>) => {
    const ac = new AbortController();
    let request: MigrationRecord['stopRequest'] = null;
    let live = true;
    const interrupt = () => ac.abort();
    ctx.signal.addEventListener('abort', interrupt, { once: true });
    void (async () => {
      while (live && !ac.signal.aborted) {
        const m = await d.store.migrations.getMigrationById(ctx.task.instanceId).catch(() => undefined);
        if (m !== undefined) request = m ? m.stopRequest : 'stop';
        if (request === 'stop') ac.abort();
        else await waitOrAbort(POLL_MS, ac.signal);
      }
    })();
    return {
      signal: ac.signal,
      request: () => request,
      stopped: () => request === 'stop',
      end: () => {
        live = false;
        ctx.signal.removeEventListener('abort', interrupt);
        ac.abort();
      },
    };
  };

  /**
   * Full copy from source to target. A Redis refusal (WRONGPASS, NOAUTH…) fails the run at once
   * (§4.2); a source or target that cannot be reached, or a link lost mid-copy, is retried every
   * 5 s for up to 60 s, an ERROR with the error text per attempt. A stop ends any of it at once.
   * `announce`: log the "Connected" INFO on the first real connection (not again on a resume).
   */
  async function copyOnline(ctx: StepContext<RunState>, m: MigrationRecord, announce: boolean): Promise<CopyProgress> {
    let progress = m.progress;
    let failingSince: number | null = null;
    const stop = watchStop(ctx);
    try {
      for (;;) {
        let src: Redis | null = null;
        let dst: Redis | null = null;
        try {
          const srcTarget = await endpointTarget(d, m.settings.source!, m.secrets.sourcePassword);
          src = await open(srcTarget, 'source', stop.signal);
          dst = await open(await endpointTarget(d, m.settings.target!, m.secrets.targetPassword), 'target', stop.signal);
          if (failingSince !== null) await log(m, 'INFO', 'reconnected', 'Reconnected; the full copy goes on from where it was.');
          else if (announce) await log(m, 'INFO', 'started', 'Connected; full copy started.');
          announce = false;
          failingSince = null;
          return await fullCopy(src, dst, progress, {
            signal: ctx.signal,
            beforeEffect: () => ctx.assertOwned(),
            stopRequested: async () => stop.stopped(),
            saveProgress: async (p) => {
              await save(ctx, { progress: p });
              progress = p;
            },
            bytesPerSecond: bandwidthOf(m),
            sourceScanCommand: commandName(srcTarget, 'scan'),
          });
        } catch (e) {
          if (e instanceof LeaseLost || e instanceof Interrupted || e instanceof StepFailure || ctx.signal.aborted) throw e;
          if (stop.stopped()) return progress; // the attempt was given up for the stop
          failingSince ??= Date.now();
          await retryLater(m, e, failingSince, stop.signal);
          if (stop.stopped()) return progress;
        } finally {
          src?.disconnect();
          dst?.disconnect();
        }
      }
    } finally {
      stop.end();
    }
  }

  /** The import of the files, ended early by a stop. */
  async function importAll(ctx: StepContext<RunState>, m: MigrationRecord): Promise<CopyProgress> {
    const stop = watchStop(ctx);
    try {
      return await importFiles(d, ctx, m, {
        saveProgress: (p) => save(ctx, { progress: p }), stopRequested: async () => stop.stopped(), bytesPerSecond: bandwidthOf(m),
      });
    } finally {
      stop.end();
    }
  }

  /** The target stops following (REPLICAOF NO ONE) and is writable again. */
  async function release(ctx: StepContext<RunState>, m: MigrationRecord): Promise<void> {
    const dstTarget = await endpointTarget(d, m.settings.target!, m.secrets.targetPassword);
    const dst = await open(dstTarget, 'target');
    try {
      await detach(dst, dstTarget.password, () => ctx.assertOwned());
    } finally {
      dst.disconnect();
    }
  }

  /**
   * After a failed connection: a Redis refusal (WRONGPASS, NOAUTH…) fails the run at once; a lost
   * link fails it once it has failed for GIVE_UP_AFTER_MS, else is logged as an ERROR with the
   * error text and waited out for RETRY_EVERY_MS (or until `signal`).
   */
  async function retryLater(m: MigrationRecord, e: unknown, failingSince: number, signal: AbortSignal): Promise<void> {
    if (e instanceof RedisRefused) throw new StepFailure('DCS.5000', e.message);
    const msg = (e as Error).message;
    if (Date.now() - failingSince >= GIVE_UP_AFTER_MS) {
      throw new StepFailure('DCS.5000', `Gave up after ${Math.round(GIVE_UP_AFTER_MS / 1000)} s without a connection: ${msg}`);
    }
    await log(m, 'ERROR', 'connection_lost', `${msg}; retrying in ${Math.round(RETRY_EVERY_MS / 1000)} s`);
    await waitOrAbort(RETRY_EVERY_MS, signal);
  }

  /**
   * The target of a follow, retried as the copy's links are: resumed after a restart of the
   * service, the target's redis-server may still be starting.
   */
  async function openFollowing(ctx: StepContext<RunState>, m: MigrationRecord, t: RedisTarget): Promise<Redis> {
    const since = Date.now();
    for (;;) {
      try {
        return await open(t, 'target', ctx.signal);
      } catch (e) {
        if (e instanceof Interrupted || ctx.signal.aborted) throw e;
        await retryLater(m, e, since, ctx.signal);
      }
    }
  }

  /**
   * The target follows the source (REPLICAOF) until a stop, a sync-stop, or a source or target
   * lost for 60 s. A target found following nobody (restarted: an instance starts as a master)
   * follows the source again; one following another master ends the run.
   */
  async function follow(ctx: StepContext<RunState>, m: MigrationRecord): Promise<void> {
    const srcTarget = await endpointTarget(d, m.settings.source!, m.secrets.sourcePassword);
    let dstTarget = await endpointTarget(d, m.settings.target!, m.secrets.targetPassword);
    let dst = await openFollowing(ctx, m, dstTarget);
    const fenced = () => ctx.assertOwned();
    let src: Redis | null = null;
    let stop: ReturnType<typeof watchStop> | null = null;

    /**
     * The target's replication state; null while it does not answer. A connection it closed (a
     * restart, a new port) is opened again where the target is now: without that, a target
     * restarted by an operation was never looked at again, and the run failed 60 s later
     * blaming the source while the target took writes of its own as a master.
     */
    const observe = async (): Promise<LinkState | null> => {
      let state = await link(dst).catch(() => null);
      if (state === null) {
        dst.disconnect();
        const where = await endpointTarget(d, m.settings.target!, m.secrets.targetPassword).catch(() => null);
        const again = where && (await open(where, 'target', ctx.signal).catch(() => null));
        if (!where || !again) return null;
        dstTarget = where;
        dst = again;
        state = await link(dst).catch(() => null);
        if (state === null) return null;
      }
      if (state.master === null) {
        await log(m, 'INFO', 'reattached', 'The target was not following the source (restarted?); it follows it again, starting with a full copy.');
        await attach(dst, srcTarget, fenced).catch((e) => { throw asMigrationError(e, 'target'); });
        return link(dst).catch(() => null);
      }
      if (state.master.host !== srcTarget.host || state.master.port !== srcTarget.port) {
        // Another migration into this target, or a REPLICAOF by hand: its offsets are not the
        // source's, so following on would report writes as arrived that never did.
        throw new StepFailure('DCS.5000', `The target now follows ${state.master.host}:${state.master.port}, not this migration's source ${srcTarget.host}:${srcTarget.port} (another migration into it, or a REPLICAOF by hand); this migration ended and left the target as it is.`);
      }
      return state;
    };

    try {
      await attach(dst, srcTarget, fenced).catch((e) => { throw asMigrationError(e, 'target'); });
      stop = watchStop(ctx);
      let lastUp = Date.now();
      let targetSeen = Date.now();
      let savedOffset = m.replOffset;
      /** The source's replication offset when the sync-stop was first seen: what the target must reach. */
      let syncTo: number | null = null;
      let following = m.status === 'INCRMIGEATING';
      const giveUp = `${Math.round(GIVE_UP_AFTER_MS / 1000)} s`;
      for (;;) {
        if (ctx.signal.aborted) throw new Interrupted('interrupted');
        const state = await observe();
        if (state) targetSeen = Date.now();
        if (state && (state.up || state.syncing)) lastUp = Date.now();
        // INCRMIGEATING once the target has caught up: from then on each source write arrives at once.
        if (state?.up && !following) {
          await save(ctx, { status: 'INCRMIGEATING' });
          await log(m, 'INFO', 'following', "Following the source's writes (the target is a replica of the source until stopped).");
          following = true;
        }
        else if (Date.now() - targetSeen > GIVE_UP_AFTER_MS) {
          throw new StepFailure('DCS.5000', `The target did not answer for ${giveUp}; it keeps what it received.`);
        }
        else if (Date.now() - lastUp > GIVE_UP_AFTER_MS) {
          await detach(dst, dstTarget.password, fenced).catch(() => {});
          throw new StepFailure('DCS.5000', `The source did not answer for ${giveUp}; the target was detached and keeps what it received.`);
        }
        if (state && state.offset !== savedOffset && state.up) {
          await save(ctx, { replOffset: state.offset });
          savedOffset = state.offset;
        }
        const request = stop.request();
        if (request === 'stop') {
          if (state) await detach(dst, dstTarget.password, fenced);
          // A managed instance starts as a master; a Redis of the user's may still follow.
          else await log(m, 'ERROR', 'not_detached', `The target ${dstTarget.host}:${dstTarget.port} did not answer, so it could not be detached; if it still follows the source when it is back, detach it (REPLICAOF NO ONE).`);
          return;
        }
        if (request === 'sync' && state) {
          // Target = source as of the sync-stop (automation.md §4.7): detached once it holds every
          // write the source had then, however long a resync takes (a target restarted meanwhile
          // copies everything again). Detaching earlier reported SUCCESS with writes missing; a
          // source or target lost for good ends in the give-up above, FAILED.
          src ??= await open(srcTarget, 'source').catch(() => null);
          if (syncTo === null && src !== null) syncTo = await masterOffset(src).catch(() => null);
          if (syncTo !== null && state.up && state.offset >= syncTo) {
            await detach(dst, dstTarget.password, fenced);
            return;
          }
        }
        await waitOrAbort(POLL_MS, ctx.signal);
      }
    } finally {
      stop?.end();
      dst.disconnect();
      src?.disconnect();
    }
  }

  return {
    name: MIGRATION_RUN,
    steps: [
      {
        name: RUN_STEPS[0],
        timeoutMs: NO_TIMEOUT,
        run: async (ctx) => {
          const m = await current(ctx);
          if (m.stopRequest === 'stop' || m.progress.done) return;
          const resumed = ctx.task.state.copyStarted === true;
          if (resumed) {
            if (m.resumeMode === 'manual') {
              throw new StepFailure('DCS.5000', 'The migration was interrupted by a restart of the service during the full copy (resume_mode manual); restart it.');
            }
            await log(m, 'INFO', 'resumed', `Resuming the full copy at database ${m.progress.db}, SCAN cursor ${m.progress.cursor} (${m.progress.copied} keys copied).`);
          } else {
            await ctx.saveState({ copyStarted: true });
            // An online copy says "Connected" once it is (copyOnline); an import starts here.
            if (m.migrationType === 'backupfile_import') await log(m, 'INFO', 'started', 'Import started.');
          }
          const end = m.migrationType === 'backupfile_import' ? await importAll(ctx, m) : await copyOnline(ctx, m, !resumed);
          if (end.done) {
            await save(ctx, { progress: end });
            await log(m, 'INFO', 'copied', `Full copy finished: ${end.copied} keys copied.`);
          }
        },
      },
      {
        name: RUN_STEPS[1],
        timeoutMs: NO_TIMEOUT,
        run: async (ctx) => {
          const m = await current(ctx);
          if (m.migrationMethod !== 'incremental_migration') return;
          if (m.stopRequest === 'stop') {
            // A stop may have been asked while the target followed, and this run resumed after
            // losing its lease before it detached: detaching again is harmless, not detaching is not.
            if (m.progress.done) await release(ctx, m);
            return;
          }
          if (m.status === 'INCRMIGEATING') await log(m, 'INFO', 'reattached', "Re-attaching to the source's writes.");
          else await log(m, 'INFO', 'attaching', 'Full copy done; the target is being attached to the source as its replica.');
          await follow(ctx, m);
        },
      },
    ],
    onSuccess: async (ctx) => {
      const m = await current(ctx);
      const stopped = m.stopRequest === 'stop';
      await save(ctx, { status: stopped ? 'TERMINATED' : 'SUCCESS', stopRequest: null });
      await log(m, 'INFO', stopped ? 'stopped' : 'finished', stopped ? 'Stopped; what was copied stays on the target.' : 'Migration finished.');
    },
    onFailure: async (ctx, error) => {
      const m = await d.store.migrations.getMigrationById(ctx.task.instanceId);
      if (!m) return;
      await save(ctx, { status: 'FAILED', stopRequest: null });
      await log(m, 'ERROR', 'failed', error.message);
      d.logger.warn({ migration_id: m.id, error: error.message }, 'migration failed');
    },
  };
}
