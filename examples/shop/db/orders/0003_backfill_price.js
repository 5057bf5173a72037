// A data migration: give existing orders a price. Kiln runs it in one transaction with its
// history row; `db` offers query(sql, params) with ? parameters and exec(sql), on either engine.
const PRICES = { apple: 50, pear: 70 };

export async function migrate(db) {
  for (const row of await db.query('SELECT id, item FROM orders WHERE price_cents IS NULL')) {
    await db.query('UPDATE orders SET price_cents = ? WHERE id = ?', [PRICES[row.item] ?? 100, row.id]);
  }
}
