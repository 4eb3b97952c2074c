-- Revert: drop the callback_escalations table.
DROP TABLE IF EXISTS callback_escalations;
