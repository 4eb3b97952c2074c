ALTER TABLE reviews COMMENT = '';
DROP INDEX idx_books_title ON books;
