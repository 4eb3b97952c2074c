-- Revert: drop the appointment_modifications table.
DROP TABLE IF EXISTS appointment_modifications;
