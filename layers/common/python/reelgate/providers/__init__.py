"""Upstream provider clients (Pixverse, Apphud): typed, injected httpx clients, no AWS calls."""
