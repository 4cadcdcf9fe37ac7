"""The CLI's output helpers live in the views layer (packer.views.output); named here too."""
from packer.views.output import error_details, write_output

__all__ = ["error_details", "write_output"]
