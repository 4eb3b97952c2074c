-- migrate:up
-- Release 2 freeze: nothing to change in the schema; the migration marks the point.

-- migrate:down
-- nothing to undo
