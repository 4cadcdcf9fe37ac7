"""The CLI's output helpers live in the views layer (packer.views.output); named here too."""
from packer.views.output import PIPED_WIDTH, error_details, make_console, write_output

__all__ = ["PIPED_WIDTH", "error_details", "make_console", "write_output"]
