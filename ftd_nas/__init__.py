"""ftd-nas: rank architectures cheaply on distilled proxy datasets (Flat Trajectory Distillation)."""

__version__ = "0.1.0"
