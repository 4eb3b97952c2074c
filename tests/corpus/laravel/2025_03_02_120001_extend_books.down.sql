ALTER TABLE books DROP INDEX idx_books_published;
ALTER TABLE books DROP COLUMN price;
ALTER TABLE books MODIFY title VARCHAR(100) NOT NULL;
ALTER TABLE books DROP INDEX uq_books_isbn, DROP COLUMN isbn;
