"""The operator web UI: server-rendered pages over the same services as the API and the CLI."""
