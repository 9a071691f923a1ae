-- Up Migration

-- The append-only event log (used when EVENTSTORE_URL is unset). See eventstore/postgres.ts.
CREATE TABLE event_streams (
  stream_id       text PRIMARY KEY,
  version         bigint NOT NULL,            -- revision of the stream's last event (0-based)
  max_age_seconds integer,                    -- retention, as EventStoreDB's $maxAge
  max_count       integer,                    -- retention, as $maxCount
  truncate_before bigint,                     -- retention, as $tb
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The appending transaction: readers only read below pg_snapshot_xmin, so a transaction that
  -- commits after a later-numbered one is never skipped.
  transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id       text NOT NULL,
  stream_revision bigint NOT NULL,
  event_id        uuid NOT NULL UNIQUE,
  event_type      text NOT NULL,
  data            jsonb NOT NULL,
  metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, stream_revision)
);
CREATE INDEX events_global_order ON events (transaction_id, global_position);
CREATE INDEX events_type ON events (event_type, global_position);
CREATE INDEX events_created_at ON events (created_at);

-- Where each projection has read up to, and how it is doing. See projections/runner.ts.
CREATE TABLE projection_checkpoints (
  name            text PRIMARY KEY,
  position_commit bigint NOT NULL DEFAULT 0,
  position_prepare bigint NOT NULL DEFAULT 0,
  events_handled  bigint NOT NULL DEFAULT 0,
  status          text NOT NULL DEFAULT 'running',   -- running | failed | rebuilding
  last_error      text,
  failed_event_id uuid,
  rebuild         jsonb,                              -- progress of a running rebuild
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE projection_checkpoints;
DROP TABLE events;
DROP TABLE event_streams;
