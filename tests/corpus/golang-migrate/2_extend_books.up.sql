ALTER TABLE books ADD COLUMN isbn VARCHAR(17) NULL AFTER title, ADD UNIQUE KEY uq_books_isbn (isbn);
ALTER TABLE books MODIFY title VARCHAR(255) NOT NULL;
ALTER TABLE books ADD COLUMN price DECIMAL(8,2) NOT NULL DEFAULT 0.00;
ALTER TABLE books ADD INDEX idx_books_published (publisher_id, published_on);
