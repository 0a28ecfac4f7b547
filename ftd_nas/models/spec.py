"""ModelSpec: the small, serialisable description every stored file uses to rebuild its network."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from ftd_nas.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """Architecture name plus the knobs of the ConvNet family and the data shape it is built for."""

    arch: str = "convnet"
    width: int = 128
    depth: int = 3
    norm: str = "instancenorm"
    act: str = "relu"
    pool: str = "avgpool"
    channels: int = 3
    image_size: tuple[int, int] = (32, 32)
    num_classes: int = 10

    def to_dict(self) -> dict:
        d = asdict(self)
        d["image_size"] = list(self.image_size)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"model spec has unknown keys {sorted(unknown)}; known: {sorted(known)}")
        d = dict(d)
        if "image_size" in d:
            d["image_size"] = tuple(int(v) for v in d["image_size"])
        return cls(**d)

    def for_data(self, channels: int, image_size: tuple[int, int], num_classes: int) -> "ModelSpec":
        """The same architecture sized for a dataset."""
        return replace(self, channels=channels, image_size=tuple(image_size), num_classes=num_classes)

    def short_name(self) -> str:
        if self.arch != "convnet":
            return f"{self.arch}-{self.norm}"
        return f"convnet-w{self.width}-d{self.depth}-{self.norm}-{self.act}-{self.pool}"
