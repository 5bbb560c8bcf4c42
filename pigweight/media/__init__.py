"""Bytes become frames here; this package knows nothing of pigs."""
