-- Cancellation / reschedule / recurring policy settings (JSON config) attached to a
-- configurable entity (polymorphic), optionally overriding another policy row.

CREATE TABLE policy_configurations (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  company_id BIGINT UNSIGNED NOT NULL,
  configurable_type VARCHAR(255) NOT NULL COMMENT 'Morph type: Company, Branch, Service, Staff',
  configurable_id VARCHAR(255) NOT NULL COMMENT 'ID of parent entity (supports UUID and BIGINT)',
  policy_type ENUM('cancellation','reschedule','recurring') NOT NULL COMMENT 'Type of policy being configured',
  config JSON NOT NULL COMMENT 'Flexible policy settings as JSON',
  is_override TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'True if this overrides parent policy, false if inheriting',
  overrides_id BIGINT UNSIGNED NULL,
  created_at TIMESTAMP NULL,
  updated_at TIMESTAMP NULL,
  deleted_at TIMESTAMP NULL,
  PRIMARY KEY (id),
  UNIQUE KEY unique_policy_per_entity (company_id, configurable_type, configurable_id, policy_type, deleted_at),
  KEY idx_company (company_id),
  KEY idx_polymorphic_config (company_id, configurable_type, configurable_id),
  KEY idx_policy_type (company_id, policy_type),
  KEY idx_override_chain (is_override, overrides_id),
  KEY policy_configurations_overrides_id_foreign (overrides_id),
  CONSTRAINT policy_configurations_company_id_foreign FOREIGN KEY (company_id)
    REFERENCES companies (id) ON DELETE CASCADE,
  CONSTRAINT policy_configurations_overrides_id_foreign FOREIGN KEY (overrides_id)
    REFERENCES policy_configurations (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
