"""The only package that talks HTTP: `WorkspaceClient` (client.py), typed API errors (errors.py),
what the service adds to bodies (normalise.py), traffic shaping policies (limits.py) and the
pinned api-versions (api_versions.py). Import from the submodules; this file stays light so
the emulator can import api_versions without the SDKs."""
