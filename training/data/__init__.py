"""Skeleton datasets, mapped to the canonical skeleton of ``realtime.skeleton``."""
from focovil.training.data.clips import Clip, ClipBank, resample_frames
from focovil.training.data.nwucla import load_nwucla
from focovil.training.data.kinder_gator import load_kinder_gator

__all__ = ["Clip", "ClipBank", "resample_frames", "load_nwucla", "load_kinder_gator"]
