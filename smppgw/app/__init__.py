"""The composition root: the one place that builds the gateway's parts and wires them together."""
