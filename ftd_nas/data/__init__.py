"""Datasets as normalised tensors: readers, stratified validation split, ZCA whitening."""

from ftd_nas.data.labels import hard_labels
from ftd_nas.data.loader import DataConfig, Dataset, Split, known_datasets, load_dataset, read_raw
from ftd_nas.data.readers import RawData
from ftd_nas.data.split import stratified_split
from ftd_nas.data.zca import ZCAWhitening

__all__ = ["DataConfig", "Dataset", "RawData", "Split", "ZCAWhitening", "hard_labels", "known_datasets", "load_dataset",
           "read_raw", "stratified_split"]
