-- Up Migration

-- Blue/green rebuilds: `version` is the projection code's schema version (a change triggers a rebuild),
-- `generation` numbers the physical tables so a rebuild's fresh tables never collide with live ones.
ALTER TABLE projection_checkpoints
  ADD COLUMN version integer NOT NULL DEFAULT 0,
  ADD COLUMN generation integer NOT NULL DEFAULT 0;

-- Down Migration
ALTER TABLE projection_checkpoints DROP COLUMN generation, DROP COLUMN version;
