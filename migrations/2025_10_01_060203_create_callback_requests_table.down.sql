-- Revert: drop the callback_requests table.
DROP TABLE IF EXISTS callback_requests;
