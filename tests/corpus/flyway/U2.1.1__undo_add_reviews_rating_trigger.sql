DROP TRIGGER IF EXISTS reviews_clamp_rating;
