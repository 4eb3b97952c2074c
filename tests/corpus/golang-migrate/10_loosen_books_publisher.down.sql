ALTER TABLE books ADD COLUMN published_on DATE NULL AFTER isbn, ADD INDEX idx_books_published (publisher_id, published_on);
ALTER TABLE books DROP FOREIGN KEY fk_books_publisher;
ALTER TABLE books MODIFY publisher_id INT UNSIGNED NOT NULL;
ALTER TABLE books ADD CONSTRAINT fk_books_publisher FOREIGN KEY (publisher_id) REFERENCES publishers (id) ON DELETE RESTRICT;
