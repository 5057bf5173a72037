-- Nullable, so servers of the previous release (which do not know the column) keep inserting.
ALTER TABLE orders ADD COLUMN price_cents INTEGER;
