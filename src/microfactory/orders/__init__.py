"""Orders: the channel-neutral order model, its states, and the intake/correct/release/cancel use cases."""
