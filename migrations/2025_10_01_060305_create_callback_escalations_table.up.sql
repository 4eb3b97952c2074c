-- Escalations of callback requests (SLA breach, manual, repeated failed attempts):
-- which staff member it moved from/to, when, and how it was resolved.

CREATE TABLE callback_escalations (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  company_id BIGINT UNSIGNED NOT NULL,
  callback_request_id BIGINT UNSIGNED NOT NULL,
  escalation_reason ENUM('sla_breach','manual_escalation','multiple_attempts_failed') NOT NULL COMMENT 'Reason for escalation',
  escalated_from CHAR(36) NULL,
  escalated_to CHAR(36) NULL,
  escalated_at TIMESTAMP NOT NULL COMMENT 'When escalation occurred',
  resolved_at TIMESTAMP NULL COMMENT 'When escalation was resolved',
  resolution_notes TEXT NULL COMMENT 'Notes on escalation resolution',
  metadata JSON NULL COMMENT 'Additional escalation context and data',
  created_at TIMESTAMP NULL,
  updated_at TIMESTAMP NULL,
  PRIMARY KEY (id),
  KEY idx_company (company_id),
  KEY idx_company_callback (company_id, callback_request_id),
  KEY idx_company_escalated (company_id, escalated_at),
  KEY idx_company_reason (company_id, escalation_reason),
  KEY idx_escalated_to_resolved (company_id, escalated_to, resolved_at),
  KEY callback_escalations_callback_request_id_foreign (callback_request_id),
  KEY callback_escalations_escalated_from_foreign (escalated_from),
  KEY callback_escalations_escalated_to_foreign (escalated_to),
  CONSTRAINT callback_escalations_company_id_foreign FOREIGN KEY (company_id)
    REFERENCES companies (id) ON DELETE CASCADE,
  CONSTRAINT callback_escalations_callback_request_id_foreign FOREIGN KEY (callback_request_id)
    REFERENCES callback_requests (id) ON DELETE CASCADE,
  CONSTRAINT callback_escalations_escalated_from_foreign FOREIGN KEY (escalated_from)
    REFERENCES staff (id) ON DELETE SET NULL,
  CONSTRAINT callback_escalations_escalated_to_foreign FOREIGN KEY (escalated_to)
    REFERENCES staff (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
