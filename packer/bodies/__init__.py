"""API bodies: content items as the resources the Sentinel, Log Analytics and workbook APIs take
(resources.py, per workspace) and the property sets ARM templates share with them (properties.py)."""
