DROP PROCEDURE IF EXISTS publisher_book_count;
