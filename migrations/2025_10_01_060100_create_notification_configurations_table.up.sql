-- Per-company notification settings: which channel (and fallback) to use for an
-- event on a configurable entity (polymorphic), with retry behaviour and template override.

CREATE TABLE notification_configurations (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  company_id BIGINT UNSIGNED NOT NULL,
  configurable_type VARCHAR(255) NOT NULL,
  configurable_id BIGINT UNSIGNED NOT NULL,
  event_type VARCHAR(100) NOT NULL,
  channel ENUM('email','sms','whatsapp','push') NOT NULL,
  fallback_channel ENUM('email','sms','whatsapp','push','none') NULL,
  is_enabled TINYINT(1) NOT NULL DEFAULT 1,
  retry_count INT NOT NULL DEFAULT 3,
  retry_delay_minutes INT NOT NULL DEFAULT 5,
  template_override VARCHAR(255) NULL,
  metadata JSON NULL,
  created_at TIMESTAMP NULL,
  updated_at TIMESTAMP NULL,
  PRIMARY KEY (id),
  UNIQUE KEY notif_config_unique_constraint (company_id, configurable_type, configurable_id, event_type, channel),
  KEY notif_config_company_idx (company_id),
  KEY notif_config_polymorphic_idx (configurable_type, configurable_id),
  KEY notif_config_lookup_idx (company_id, configurable_type, configurable_id, event_type, channel),
  KEY notif_config_event_enabled_idx (company_id, event_type, is_enabled),
  CONSTRAINT notification_configurations_company_id_foreign FOREIGN KEY (company_id)
    REFERENCES companies (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
