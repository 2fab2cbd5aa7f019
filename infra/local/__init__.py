"""The local cloud: emulated AWS (moto), the real ASL flows, the real handlers, simulated providers."""
