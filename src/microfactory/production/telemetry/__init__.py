"""Machine telemetry over MQTT: parse, store, limit alerts, downsample, silence (docs/integrations/machines.md)."""
