-- +goose Up
-- Release 2 freeze: nothing to change in the schema; the migration marks the point.

-- +goose Down
-- nothing to undo
