"""Dataset distillation by trajectory matching: FTD (flat experts + EMA images) and MTT."""

from ftd_nas.distill.config import resolve_config
from ftd_nas.distill.distiller import Distiller, distill
from ftd_nas.distill.matching import match_trajectory, plan_unroll
from ftd_nas.origins import DistillConfig

__all__ = ["DistillConfig", "Distiller", "distill", "match_trajectory", "plan_unroll", "resolve_config"]
