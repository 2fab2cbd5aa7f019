"""The mobile video API: Apphud-entitled users of registered apps generate videos through Pixverse."""
