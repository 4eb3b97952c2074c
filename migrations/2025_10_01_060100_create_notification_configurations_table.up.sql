-- Per-company notification settings: which channel (and fallback) to use for an
-- event on a configurable entity (polymorphic), with retry behaviour and template override.

CREATE TABLE notification_configurations (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  company_id BIGINT UNSIGNED NOT NULL,
  configurable_type VARCHAR(255) NOT NULL COMMENT 'Polymorphic type: App\\Models\\Company, App\\Models\\Branch, App\\Models\\Service, App\\Models\\Staff',
  configurable_id BIGINT UNSIGNED NOT NULL COMMENT 'Polymorphic ID of the related entity',
  event_type VARCHAR(100) NOT NULL COMMENT 'Event identifier: booking_confirmed, reminder_24h, cancellation, reschedule_confirmed, callback_request_received, etc.',
  channel ENUM('email','sms','whatsapp','push') NOT NULL COMMENT 'Primary notification channel for this event',
  fallback_channel ENUM('email','sms','whatsapp','push','none') NULL COMMENT 'Fallback channel if primary fails (null = no fallback)',
  is_enabled TINYINT(1) NOT NULL DEFAULT 1 COMMENT 'Enable/disable this notification channel for this event',
  retry_count INT NOT NULL DEFAULT 3 COMMENT 'Number of retry attempts for failed notifications',
  retry_delay_minutes INT NOT NULL DEFAULT 5 COMMENT 'Initial delay between retries (uses exponential backoff)',
  template_override VARCHAR(255) NULL COMMENT 'Optional custom template name (overrides default template for event_type)',
  metadata JSON NULL COMMENT 'Channel-specific settings: {from_number, sender_name, priority, attachments, etc.}',
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
