"""Staff reports over the orders and the catalog, aggregated in the database."""
