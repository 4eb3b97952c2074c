-- Customer requests to be called back at a branch: contact details, preferred time
-- window, priority, assignment to staff and status lifecycle until expiry.

CREATE TABLE callback_requests (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  company_id BIGINT UNSIGNED NOT NULL,
  customer_id BIGINT UNSIGNED NULL,
  branch_id CHAR(36) NOT NULL,
  service_id BIGINT UNSIGNED NULL,
  staff_id CHAR(36) NULL,
  phone_number VARCHAR(50) NOT NULL COMMENT 'Customer phone number in E.164 format',
  customer_name VARCHAR(255) NOT NULL COMMENT 'Customer name for callback',
  preferred_time_window JSON NULL COMMENT 'JSON: {"start": "2025-10-02 09:00", "end": "2025-10-02 17:00"}',
  priority ENUM('normal','high','urgent') NOT NULL DEFAULT 'normal' COMMENT 'Callback priority level',
  status ENUM('pending','assigned','contacted','completed','expired','cancelled') NOT NULL DEFAULT 'pending' COMMENT 'Current status of callback request',
  assigned_to CHAR(36) NULL,
  assigned_at TIMESTAMP NULL COMMENT 'When callback was assigned',
  contacted_at TIMESTAMP NULL COMMENT 'When customer was contacted',
  completed_at TIMESTAMP NULL COMMENT 'When callback was completed',
  expires_at TIMESTAMP NOT NULL COMMENT 'SLA deadline for callback',
  notes TEXT NULL COMMENT 'Customer notes or special requests',
  metadata JSON NULL COMMENT 'Retell call data and context',
  created_at TIMESTAMP NULL,
  updated_at TIMESTAMP NULL,
  deleted_at TIMESTAMP NULL,
  PRIMARY KEY (id),
  KEY idx_company (company_id),
  KEY idx_company_customer (company_id, customer_id),
  KEY idx_company_created (company_id, created_at),
  KEY idx_status_priority_expires (company_id, status, priority, expires_at),
  KEY idx_assigned_status (company_id, assigned_to, status),
  KEY callback_requests_branch_id_index (branch_id),
  KEY callback_requests_customer_id_foreign (customer_id),
  KEY callback_requests_service_id_foreign (service_id),
  KEY callback_requests_staff_id_foreign (staff_id),
  KEY callback_requests_assigned_to_foreign (assigned_to),
  CONSTRAINT callback_requests_company_id_foreign FOREIGN KEY (company_id)
    REFERENCES companies (id) ON DELETE CASCADE,
  CONSTRAINT callback_requests_customer_id_foreign FOREIGN KEY (customer_id)
    REFERENCES customers (id) ON DELETE SET NULL,
  CONSTRAINT callback_requests_branch_id_foreign FOREIGN KEY (branch_id)
    REFERENCES branches (id) ON DELETE CASCADE,
  CONSTRAINT callback_requests_service_id_foreign FOREIGN KEY (service_id)
    REFERENCES services (id) ON DELETE SET NULL,
  CONSTRAINT callback_requests_staff_id_foreign FOREIGN KEY (staff_id)
    REFERENCES staff (id) ON DELETE SET NULL,
  CONSTRAINT callback_requests_assigned_to_foreign FOREIGN KEY (assigned_to)
    REFERENCES staff (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
