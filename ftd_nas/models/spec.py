"""ModelSpec: the small, serialisable description every stored file uses to rebuild its network."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ftd_nas.checks import check_positive_int
from ftd_nas.errors import ConfigError
from ftd_nas.records import Part


@dataclass(frozen=True)
class ModelSpec(Part):
    """Architecture name plus the knobs of the ConvNet family and the data shape it is built for.

    Only families whose axes are these knobs can be stored so (`spec_families`: --model, experts, distillation,
    evaluation); a family with axes of its own (nb201) is searched over and rebuilt from its axis values."""

    arch: str = "convnet"
    width: int = 128
    depth: int = 3
    norm: str = "instancenorm"
    act: str = "relu"
    pool: str = "avgpool"
    channels: int = 3
    image_size: tuple[int, int] = (32, 32)
    num_classes: int = 10

    def __post_init__(self) -> None:
        from ftd_nas.models.families import spec_families

        families = spec_families()
        if self.arch not in families:
            raise ConfigError(f"unknown model {self.arch!r}; choose one of: {', '.join(families)}")
        family = families[self.arch]
        for name in family.axes:  # the family's own axis checks, one definition (its axes are knobs of ours)
            value = getattr(self, name)
            problem = family.check_value(name, value)
            if problem:
                raise ConfigError(f"{'unknown' if isinstance(value, str) else 'invalid'} --{name} {value!r}: {problem}")
        for name in ("channels", "num_classes"):
            check_positive_int(f"--{name.replace('_', '-')}", getattr(self, name))
        if len(self.image_size) != 2 or min(self.image_size) < 1:
            raise ConfigError(f"image size must be two positive integers, got {self.image_size!r}")
        problem = family.rule(self.to_dict())
        if problem:
            raise ConfigError(problem)

    def for_data(self, channels: int, image_size: tuple[int, int], num_classes: int) -> "ModelSpec":
        """The same architecture sized for a dataset."""
        return replace(self, channels=channels, image_size=tuple(image_size), num_classes=num_classes)

    def short_name(self) -> str:
        if self.arch != "convnet":
            return f"{self.arch}-{self.norm}"
        return f"convnet-w{self.width}-d{self.depth}-{self.norm}-{self.act}-{self.pool}"
