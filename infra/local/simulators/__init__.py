"""Provider simulators: real HTTP servers that the local cloud and the tests start in-process.

Import from the modules (`infra.local.simulators.pixverse`, `.apphud`); importing them here would
make `python -m infra.local.simulators.pixverse` load the module twice.
"""
