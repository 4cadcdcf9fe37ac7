"""Rendering content items as resource bodies (API and ARM)."""
