// The key store of crypto-shredding: one data key (AES-256) per subject, in the read-model database's
// `personal_data_keys` table, never in the event log (whatever the log's store: PostgreSQL, PGlite or
// KurrentDB). Each key is wrapped (AES-256-GCM) under a key derived from the server secret (RFC 5869
// HKDF), so a dump of the table alone opens nothing. Erasing a subject sets its keys' `wrapped` to NULL.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import type { Queryable } from '../db/database.ts';

/** A data key as the backups carry it: still wrapped, or `wrapped: null` for a tombstone. */
export type StoredKey = { kid: string; subject: string; wrapped: string | null; createdAt: string };

const IV = 12;
const TAG = 16;
/** Unwrapped keys kept in memory; beyond it the oldest are dropped (read again from the table when needed). */
const CACHE_MAX = 10_000;

// IVs are cut from a block of CSPRNG output: a fresh random IV per seal, as before, without paying a call
// into the random generator per seal (it cost as much as the cipher). A block is used once, never refilled.
const IV_BLOCK = IV * 512;
let ivs = randomBytes(IV_BLOCK);
let ivAt = 0;
const freshIv = (): Buffer => {
  if (ivAt + IV > IV_BLOCK) {
    ivs = randomBytes(IV_BLOCK);
    ivAt = 0;
  }
  ivAt += IV;
  return ivs.subarray(ivAt - IV, ivAt);
};

/** A data key held as a KeyObject: the key material is checked and copied once, not at every cipher. */
export type DataKey = KeyObject;

export const sealGcm = (key: Buffer | DataKey, plain: Buffer | string, aad: string): string => {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  // Evaluated in order: the tag exists once final() ran.
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]).toString('base64url');
};

/** The plaintext, or undefined when the text was not sealed by this key for this `aad` (GCM tag check). */
export const openGcm = (key: Buffer | DataKey, sealed: string, aad: string): Buffer | undefined => {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < IV + TAG) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(raw.length - TAG));
    const plain = decipher.update(raw.subarray(IV, raw.length - TAG));
    decipher.final(); // GCM yields nothing more here; it checks the tag (throws when it does not match)
    return plain;
  } catch {
    return undefined;
  }
};

const derive = (secret: Buffer, info: string): Buffer =>
  Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), info, 32));

export class PersonalKeyStore {
  private derived: Promise<{ wrap: Buffer; email: Buffer }> | undefined;
  /** kid → key (null: erased or unknown); subject → its live kid. */
  private readonly keys = new Map<string, { subject: string; key: DataKey | null }>();
  private readonly live = new Map<string, string>();
  /** Moves whenever keys are forgotten (erased here or elsewhere): what was opened before may not open now. */
  forgotten = 0;
  /** Called whenever keys are forgotten: holders of plaintext drop it at once (PersonalData's kept seals). */
  private readonly forgetting = new Set<() => void>();

  onForget(listener: () => void): void {
    this.forgetting.add(listener);
  }

  constructor(
    private readonly db: Queryable,
    /** The server secret; asked for once, when a key is first needed. */
    private readonly secret: () => Promise<Buffer>,
  ) {}

  private kek() {
    this.derived ??= this.secret().then(
      (secret) => ({
        wrap: derive(secret, 'remotemcp personal data keys v1'),
        email: derive(secret, 'remotemcp email subjects v1'),
      }),
      (error: unknown) => {
        this.derived = undefined;
        throw error;
      },
    );
    return this.derived;
  }

  /**
   * The key subject of an email: a keyed hash (HMAC-SHA-256), so the table names no address and nobody
   * without the server secret can test guesses against it.
   */
  async emailSubject(email: string): Promise<string> {
    const { email: key } = await this.kek();
    return `email:${createHmac('sha256', key).update(email.trim().toLowerCase()).digest('base64url')}`;
  }

  private remember(kid: string, subject: string, key: DataKey | null) {
    if (this.keys.size >= CACHE_MAX) {
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    this.keys.set(kid, { subject, key });
  }

  private async unwrap(row: { kid: string; subject: string; wrapped: string | null }): Promise<DataKey | null> {
    if (row.wrapped === null) return null;
    const { wrap } = await this.kek();
    const raw = openGcm(wrap, row.wrapped, `${row.kid}\n${row.subject}`);
    return raw ? createSecretKey(raw) : null;
  }

  /** The live key of a subject when this process holds it already (no await on the append path). */
  cachedKey(subject: string): { kid: string; key: DataKey } | undefined {
    const kid = this.live.get(subject);
    const key = kid === undefined ? undefined : this.keys.get(kid)?.key;
    return kid !== undefined && key ? { kid, key } : undefined;
  }

  /** The live key of a subject, created on first use (one winner when instances race: the unique index). */
  async keyFor(subject: string): Promise<{ kid: string; key: DataKey }> {
    const cached = this.live.get(subject);
    const key = cached === undefined ? undefined : this.keys.get(cached)?.key;
    if (cached !== undefined && key) return { kid: cached, key };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const found = await this.db.query<{ kid: string; subject: string; wrapped: string | null }>(
        'SELECT kid, subject, wrapped FROM personal_data_keys WHERE subject = $1 AND current AND erased_at IS NULL',
        [subject],
      );
      const row = found.rows[0];
      if (row) {
        const unwrapped = await this.unwrap(row);
        if (!unwrapped) throw new Error(`the data key ${row.kid} does not open with this server secret`);
        this.remember(row.kid, subject, unwrapped);
        this.live.set(subject, row.kid);
        return { kid: row.kid, key: unwrapped };
      }
      const kid = randomUUID();
      const fresh = randomBytes(32);
      const wrapped = sealGcm((await this.kek()).wrap, fresh, `${kid}\n${subject}`);
      await this.db.query(
        `INSERT INTO personal_data_keys (kid, subject, wrapped) VALUES ($1, $2, $3)
         ON CONFLICT (subject) WHERE current AND erased_at IS NULL DO NOTHING`,
        [kid, subject, wrapped],
      );
    }
    throw new Error(`could not create a data key for ${subject}`);
  }

  /** Keys by id; null for an erased (or unknown) one. */
  async keysById(kids: Iterable<string>): Promise<Map<string, DataKey | null>> {
    const out = new Map<string, DataKey | null>();
    const missing: string[] = [];
    for (const kid of new Set(kids)) {
      const cached = this.keys.get(kid);
      if (cached === undefined) missing.push(kid);
      else out.set(kid, cached.key);
    }
    if (missing.length > 0) {
      const rows = await this.db.query<{ kid: string; subject: string; wrapped: string | null }>(
        'SELECT kid, subject, wrapped FROM personal_data_keys WHERE kid = ANY($1)',
        [missing],
      );
      const found = new Map(rows.rows.map((row) => [row.kid, row]));
      for (const kid of missing) {
        const row = found.get(kid);
        const key = row ? await this.unwrap(row) : null;
        // An unknown kid may arrive later (an import brings its keys after its events): not cached.
        if (row) this.remember(kid, row.subject, key);
        out.set(kid, key);
      }
    }
    return out;
  }

  /** Destroys every key of these subjects; returns how many were live. Idempotent. */
  async erase(subjects: readonly string[], now = new Date()): Promise<number> {
    this.forget(subjects);
    if (subjects.length === 0) return 0;
    const result = await this.db.query(
      `UPDATE personal_data_keys SET wrapped = NULL, erased_at = $2 WHERE subject = ANY($1) AND erased_at IS NULL`,
      [subjects, now],
    );
    // A key written between the UPDATE's snapshot and now (a racing instance) is caught on its next erase.
    return result.rowCount ?? 0;
  }

  /** Drops cached keys of these subjects (another instance erased them). */
  forget(subjects: readonly string[]): void {
    const set = new Set(subjects);
    if (set.size === 0) return;
    this.forgotten += 1;
    for (const subject of set) this.live.delete(subject);
    for (const entry of this.keys.values()) if (set.has(entry.subject)) entry.key = null;
    for (const listener of this.forgetting) listener();
  }

  /** Every key, wrapped, and every tombstone: what a full backup carries (app/backup.ts). */
  async exportKeys(): Promise<StoredKey[]> {
    const rows = await this.db.query<{ kid: string; subject: string; wrapped: string | null; created_at: Date }>(
      'SELECT kid, subject, wrapped, created_at FROM personal_data_keys ORDER BY created_at, kid',
    );
    return rows.rows.map((row) => ({
      kid: row.kid,
      subject: row.subject,
      wrapped: row.wrapped,
      createdAt: row.created_at.toISOString(),
    }));
  }

  /**
   * Restores keys from a backup. A kid already here is left as it is: a tombstone stays a tombstone, so a
   * backup made before an erasure cannot bring the key back. A tombstone in the backup erases the key here.
   * A live key whose subject already has another live key is stored as an old key of that subject.
   */
  async importKeys(keys: readonly StoredKey[]): Promise<{ imported: number; erased: number }> {
    let imported = 0;
    let erased = 0;
    for (const key of keys) {
      if (key.wrapped === null) {
        const result = await this.db.query(
          `INSERT INTO personal_data_keys (kid, subject, wrapped, created_at, erased_at) VALUES ($1, $2, NULL, $3, now())
           ON CONFLICT (kid) DO UPDATE SET wrapped = NULL, erased_at = coalesce(personal_data_keys.erased_at, now())`,
          [key.kid, key.subject, key.createdAt],
        );
        erased += result.rowCount ?? 0;
        this.forget([key.subject]);
        continue;
      }
      // Current when the subject has no current key here, else an older key of it (still opens its events).
      const result = await this.db.query(
        `INSERT INTO personal_data_keys (kid, subject, wrapped, current, created_at)
         SELECT $1, $2, $3,
                NOT EXISTS (SELECT 1 FROM personal_data_keys WHERE subject = $2 AND current AND erased_at IS NULL), $4
          WHERE NOT EXISTS (SELECT 1 FROM personal_data_keys WHERE kid = $1)`,
        [key.kid, key.subject, key.wrapped, key.createdAt],
      );
      imported += result.rowCount ?? 0;
    }
    return { imported, erased };
  }
}
