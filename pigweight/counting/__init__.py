"""Detections over time become a count you can trust."""
