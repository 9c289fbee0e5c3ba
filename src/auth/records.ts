/** Credentials and tokens as stored (type-only for the stores). */
export interface TokenRecord {
  hash: string;
  accessKey: string;
  expiresAt: number;
  createdAt: number;
}

/** An AK/SK credential as a node publishes it for the others (multi-node stores only). */
export interface CredentialRecord {
  accessKey: string;
  secretKey: string;
  projectId: string;
  userId: string;
  userName: string;
  role: 'admin' | 'readonly';
}
