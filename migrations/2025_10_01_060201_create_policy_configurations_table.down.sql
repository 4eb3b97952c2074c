-- Revert: drop the policy_configurations table.
DROP TABLE IF EXISTS policy_configurations;
