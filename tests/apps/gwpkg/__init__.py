"""A package for the gateway's --module / --pythonpath tests."""
