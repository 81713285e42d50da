"""The domain: entities, state machines, events and ports. Pure Python, no I/O."""
