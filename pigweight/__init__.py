"""PigWeight: count piglets on a group scale from a camera and record the average weight."""

__version__ = "0.1.0"
