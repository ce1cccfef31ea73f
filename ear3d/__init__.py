"""ear3d: see and hear how an artificial ear listens to music."""

__version__ = "0.1.0"
