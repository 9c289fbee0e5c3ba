/**
 * Download links for backup files (records.md, D15): served by this service under /downloads/,
 * signed with HMAC-SHA256 over `<backup_id>\n<file_name>\n<Expires>` with a random key the
 * service keeps in its data directory (0600, never returned or logged), so links survive restarts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DcsError } from '../errors.js';

export class DownloadSigner {
  private readonly key: Buffer;

  constructor(dataDir: string) {
    const file = path.join(dataDir, 'download-key');
    try {
      fs.writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    this.key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
  }

  sign(backupId: string, fileName: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${backupId}\n${fileName}\n${expires}`).digest('hex');
  }

  /** 401 DCS.1001 on a bad or missing signature, 401 DCS.1002 once expired. */
  verify(backupId: string, fileName: string, expires: string | undefined, signature: string | undefined, now = Date.now()): void {
    const bad = () => new DcsError('DCS.1001', 'The download link signature is invalid.');
    if (!expires || !/^\d{1,12}$/.test(expires) || !signature || !/^[0-9a-f]{64}$/.test(signature)) throw bad();
    const want = Buffer.from(this.sign(backupId, fileName, Number(expires)), 'hex');
    if (!timingSafeEqual(want, Buffer.from(signature, 'hex'))) throw bad();
    if (Number(expires) * 1000 < now) throw new DcsError('DCS.1002', 'The download link has expired.');
  }
}
