"""Persistence: SQLAlchemy schema, Alembic migrations, the event repository and its queries."""
