"""Expert trajectories: plain SGD (MTT) or flat GSAM (FTD), stored as validated safetensors files."""

from ftd_nas.experts.config import ExpertConfig, expert_train_config
from ftd_nas.experts.records import ExpertFolderRecord, ExpertRecord
from ftd_nas.experts.runner import ExpertOutcome, ExpertTrainer, parse_shard, train_experts
from ftd_nas.experts.storage import ExpertDirectory, TrajectoryError, TrajectoryFile, write_trajectory

__all__ = ["ExpertConfig", "ExpertDirectory", "ExpertFolderRecord", "ExpertOutcome", "ExpertRecord", "ExpertTrainer",
           "TrajectoryError", "TrajectoryFile", "expert_train_config", "parse_shard", "train_experts",
           "write_trajectory"]
