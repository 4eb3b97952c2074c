DELIMITER $$
CREATE PROCEDURE publisher_book_count(IN p_publisher INT UNSIGNED, OUT p_count INT)
BEGIN
  DECLARE v_count INT DEFAULT 0;
  SELECT COUNT(*) INTO v_count FROM books WHERE publisher_id = p_publisher;
  IF v_count > 1000 THEN
    SET p_count = 1000;
  ELSE
    SET p_count = CASE WHEN v_count < 0 THEN 0 ELSE v_count END;
  END IF;
END$$
DELIMITER ;
