-- +goose NO TRANSACTION
-- +goose Up
-- +goose StatementBegin
CREATE TRIGGER reviews_clamp_rating BEFORE INSERT ON reviews FOR EACH ROW
BEGIN
  IF NEW.rating > 5 THEN
    SET NEW.rating = 5;
  ELSEIF NEW.rating < 1 THEN
    SET NEW.rating = 1;
  END IF;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER IF EXISTS reviews_clamp_rating;
