-- Revert: drop the notification_configurations table.
DROP TABLE IF EXISTS notification_configurations;
