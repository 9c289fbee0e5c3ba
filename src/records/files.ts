/** Where backup files live: `<data>/backups/<instance_id>/<backup_id>/<file_name>`. */
import path from 'node:path';

export const backupDirOf = (dataDir: string, instanceId: string, backupId: string): string =>
  path.join(instanceBackupsDirOf(dataDir, instanceId), backupId);

/** Every backup file of an instance (removed with the instance). */
export const instanceBackupsDirOf = (dataDir: string, instanceId: string): string => path.join(dataDir, 'backups', instanceId);

/** `yyyyMMddHHmmss` UTC of an epoch-ms time. */
export const compactUtc = (ms: number): string => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);

/** DCS's file name: `redis_<ip>_<port>_<yyyyMMddHHmmss>.<rdb|aof>`. */
export const backupFileName = (host: string, port: number, at: number, format: 'rdb' | 'aof'): string =>
  `redis_${host}_${port}_${compactUtc(at)}.${format}`;
