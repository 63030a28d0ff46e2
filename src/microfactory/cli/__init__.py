"""The `microfactory` command line (Typer): one module per command group."""
