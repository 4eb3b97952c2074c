-- migrate:up
SET @has_index := (SELECT COUNT(*) FROM information_schema.STATISTICS
  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'books' AND INDEX_NAME = 'idx_books_title');
SET @ddl := IF(@has_index = 0, 'CREATE INDEX idx_books_title ON books (title(50))', 'SELECT 1');
PREPARE add_index FROM @ddl;
EXECUTE add_index;
DEALLOCATE PREPARE add_index;
/*!50700 ALTER TABLE reviews COMMENT = 'one row per reader review' */;

-- migrate:down
ALTER TABLE reviews COMMENT = '';
DROP INDEX idx_books_title ON books;
