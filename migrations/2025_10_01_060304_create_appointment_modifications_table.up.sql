-- Audit trail of appointment cancellations and reschedules: whether each was within
-- policy, the fee charged, the reason and who made the change (polymorphic).

CREATE TABLE appointment_modifications (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  company_id BIGINT UNSIGNED NOT NULL,
  appointment_id BIGINT UNSIGNED NOT NULL,
  customer_id BIGINT UNSIGNED NOT NULL,
  modification_type ENUM('cancel','reschedule') NOT NULL COMMENT 'Type of modification performed',
  within_policy TINYINT(1) NOT NULL DEFAULT 1 COMMENT 'True if modification followed policy rules',
  fee_charged DECIMAL(10,2) NOT NULL DEFAULT 0.00 COMMENT 'Cancellation/reschedule fee charged in EUR',
  reason TEXT NULL COMMENT 'Optional reason provided by customer/staff',
  modified_by_type VARCHAR(255) NULL COMMENT 'User, System, Customer, Staff',
  modified_by_id BIGINT UNSIGNED NULL COMMENT 'ID of actor who made modification',
  metadata JSON NULL COMMENT 'Additional context like hours notice, policy details',
  created_at TIMESTAMP NULL,
  updated_at TIMESTAMP NULL,
  deleted_at TIMESTAMP NULL,
  PRIMARY KEY (id),
  KEY idx_company (company_id),
  KEY idx_customer_mods_rolling (company_id, customer_id, modification_type, created_at),
  KEY idx_appointment_history (company_id, appointment_id, created_at),
  KEY idx_policy_compliance (company_id, within_policy, modification_type),
  KEY idx_fee_analysis (company_id, fee_charged, created_at),
  KEY idx_modified_by (modified_by_type, modified_by_id),
  KEY appointment_modifications_appointment_id_foreign (appointment_id),
  KEY appointment_modifications_customer_id_foreign (customer_id),
  CONSTRAINT appointment_modifications_company_id_foreign FOREIGN KEY (company_id)
    REFERENCES companies (id) ON DELETE CASCADE,
  CONSTRAINT appointment_modifications_appointment_id_foreign FOREIGN KEY (appointment_id)
    REFERENCES appointments (id) ON DELETE CASCADE,
  CONSTRAINT appointment_modifications_customer_id_foreign FOREIGN KEY (customer_id)
    REFERENCES customers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
