"""Background work on a durable job queue (procrastinate on PostgreSQL; decision 0018)."""
