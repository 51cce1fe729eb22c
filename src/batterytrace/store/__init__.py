"""Persistence: SQLAlchemy schema, Alembic migrations, the event repository, the hash chain its
rows carry and its queries. Nothing here imports the ledger, which is built on it."""
