"""Storage: SQLAlchemy tables, engine, unit of work and Alembic migrations."""
