"""sentinel-packer: Microsoft Sentinel content as code."""
__version__ = "0.1.0"
