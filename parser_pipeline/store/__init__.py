"""Storage: SQLAlchemy Core tables, engines and bulk idempotent writes."""
