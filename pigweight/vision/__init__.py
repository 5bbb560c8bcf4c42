"""Frames become Detections here; this package knows nothing of HTTP or storage."""
