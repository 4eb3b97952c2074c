-- Pre-aggregated per-customer cancellation / reschedule counts per period, used for
-- fast policy checks; rows are recalculated and cleaned up over time.

CREATE TABLE appointment_modification_stats (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  company_id BIGINT UNSIGNED NOT NULL,
  customer_id BIGINT UNSIGNED NOT NULL,
  stat_type ENUM('cancellation_count','reschedule_count') NOT NULL COMMENT 'Type of modification being counted',
  period_start DATE NOT NULL COMMENT 'Start date of 30-day rolling window',
  period_end DATE NOT NULL COMMENT 'End date of 30-day rolling window',
  `count` INT NOT NULL DEFAULT 0 COMMENT 'Number of modifications in this period',
  calculated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP COMMENT 'When this stat was last calculated',
  created_at TIMESTAMP NULL,
  updated_at TIMESTAMP NULL,
  PRIMARY KEY (id),
  UNIQUE KEY unique_customer_stat_period (company_id, customer_id, stat_type, period_start),
  KEY idx_company (company_id),
  KEY idx_customer_stats_lookup (company_id, customer_id, stat_type, period_start),
  KEY idx_stale_stats (company_id, calculated_at, stat_type),
  KEY idx_cleanup_old_stats (company_id, period_end, calculated_at),
  KEY appointment_modification_stats_customer_id_foreign (customer_id),
  CONSTRAINT appointment_modification_stats_company_id_foreign FOREIGN KEY (company_id)
    REFERENCES companies (id) ON DELETE CASCADE,
  CONSTRAINT appointment_modification_stats_customer_id_foreign FOREIGN KEY (customer_id)
    REFERENCES customers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
