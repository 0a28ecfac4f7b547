"""A human-readable description of a loaded dataset (`ftd-nas data`)."""

from __future__ import annotations

from ftd_nas.data.loader import Dataset


def describe(ds: Dataset) -> dict:
    """Sizes, per-class counts and pixel statistics of each split."""
    splits = {}
    for name in ("train", "val", "test"):
        split = getattr(ds, name)
        x = split.x
        splits[name] = {"size": len(split), "class_counts": split.class_counts(ds.num_classes),
                        "pixel_mean": float(x.mean()) if len(split) else None,
                        "pixel_std": float(x.std()) if len(split) > 1 else None}
    return {"fingerprint": ds.fingerprint().to_dict(), "classes": ds.classes, "splits": splits}


def format_description(info: dict) -> str:
    fp = info["fingerprint"]
    lines = [f"dataset      {fp['name']}",
             f"images       {fp['channels']} x {fp['image_size'][0]} x {fp['image_size'][1]}",
             f"classes      {fp['num_classes']}",
             f"normalise    mean {fp['mean']}  std {fp['std']}",
             f"zca          {'eps ' + str(fp['zca_eps']) if fp['zca'] else 'off'}",
             f"validation   {fp['val_fraction']:.0%} of train per class, seed {fp['split_seed']}", ""]
    splits = info["splits"]
    width = max(len(c) for c in info["classes"] + ["class"])
    lines.append(f"{'class':<{width}}  {'train':>7} {'val':>7} {'test':>7}")
    for i, name in enumerate(info["classes"]):
        counts = [splits[s]["class_counts"][i] for s in ("train", "val", "test")]
        lines.append(f"{name:<{width}}  {counts[0]:>7} {counts[1]:>7} {counts[2]:>7}")
    lines.append(f"{'total':<{width}}  {splits['train']['size']:>7} {splits['val']['size']:>7} "
                 f"{splits['test']['size']:>7}")
    lines.append("")
    for s in ("train", "val", "test"):
        if splits[s]["pixel_mean"] is not None:
            lines.append(f"{s:<5} normalised pixels: mean {splits[s]['pixel_mean']:+.3f}, "
                         f"std {splits[s]['pixel_std'] if splits[s]['pixel_std'] is not None else float('nan'):.3f}")
    return "\n".join(lines)
