-- Revert: drop the appointment_modification_stats table.
DROP TABLE IF EXISTS appointment_modification_stats;
