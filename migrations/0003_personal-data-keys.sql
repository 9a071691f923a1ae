-- Up Migration

-- Per-subject data keys for the personal fields of events (crypto-shredding, eventstore/encrypting.ts).
-- Kept here, beside the read models, and never in the append-only log: erasing a subject sets `wrapped`
-- to NULL, and every copy of what that key encrypted (log, exports, restored backups) stays unreadable.
-- The row itself stays as a tombstone, so an import of an older key cannot bring it back.
CREATE TABLE personal_data_keys (
  kid        text PRIMARY KEY,
  -- `user:<user id>` or `email:<HMAC of the address>`
  subject    text NOT NULL,
  -- AES-256-GCM under a key derived from the server secret (HKDF); NULL once erased
  wrapped    text,
  -- the key new events of the subject are sealed with; an imported older key of the subject is not
  current    boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  erased_at  timestamptz
);
CREATE UNIQUE INDEX personal_data_keys_live ON personal_data_keys (subject) WHERE current AND erased_at IS NULL;

-- Set once the events written before personal fields were sealed have been sealed in place
-- (app/seal-upgrade.ts): one row, written in the transaction that rewrote them.
CREATE TABLE personal_data_sealed (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  events    bigint NOT NULL,
  done_at   timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE personal_data_sealed;
DROP TABLE personal_data_keys;
