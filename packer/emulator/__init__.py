"""An emulator of the Azure Resource Manager APIs this tool uses (Sentinel, Log Analytics, workbooks).

A real HTTPS server the real Azure SDK clients talk to; see docs/emulator.md.
"""
from packer.emulator.config import EmulatorConfig
from packer.emulator.credential import EmulatorCredential
from packer.emulator.emulator import Emulator

__all__ = ["Emulator", "EmulatorConfig", "EmulatorCredential"]
