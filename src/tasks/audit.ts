/** Reading the deletion audit: who deleted which task, when, with which message. */
import type { Store } from '../store/types.js';
import type { AuditRecord } from './records.js';

export interface AuditPage {
  total: number;
  records: AuditRecord[];
}

export class TaskAuditLog {
  constructor(private readonly store: Pick<Store, 'listAuditPage'>) {}

  /** The project's audit records, newest first. */
  page(projectId: string, offset: number, limit: number): Promise<AuditPage> {
    return this.store.listAuditPage(projectId, offset, limit);
  }
}
