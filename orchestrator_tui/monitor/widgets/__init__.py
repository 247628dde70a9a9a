"""The monitor's widgets: one per module, each shows one part of a MonitorSnapshot."""
