DELIMITER $$
CREATE TRIGGER reviews_clamp_rating BEFORE INSERT ON reviews FOR EACH ROW
BEGIN
  IF NEW.rating > 5 THEN
    SET NEW.rating = 5;
  ELSEIF NEW.rating < 1 THEN
    SET NEW.rating = 1;
  END IF;
END$$
DELIMITER ;
