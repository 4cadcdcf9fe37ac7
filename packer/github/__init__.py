"""GitHub Actions integration: step summary, outputs, annotations and the sticky PR comment.

The composite action (action.yml) and the example workflows call `sentinel-packer github ...`,
which wraps the functions here, so everything the YAML does is testable in Python.
"""
