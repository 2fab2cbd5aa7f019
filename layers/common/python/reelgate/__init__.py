"""Reelgate domain package: models, job store, providers, media tools, settings, errors."""
