"""Operations: readiness, metrics from the database, backup and restore (docs/deploy.md)."""
