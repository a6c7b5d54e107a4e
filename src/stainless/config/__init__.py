"""Configuration of training runs and experiments: pydantic models (unknown keys refused),
loaded from YAML.

Every check that can fail before the work starts is made here, with a message that names the
field: a typo in a key, a missing file, inconsistent planes, an impossible crop size.
"""

from stainless.config._base import (
    MODALITIES,
    Modality,
    Percentiles,
    Region,
    RunSettings,
    SampleBase,
    Strict,
)
from stainless.config.loading import (
    TRAINING_PATHS,
    apply_overrides,
    check_files_exist,
    dump_config,
    fine_tuning,
    format_validation_error,
    load_segmentation_config,
    load_translation_config,
    read_config,
    resolve_paths,
)
from stainless.config.segmentation import (
    AugmentConfig,
    PostprocessConfig,
    SegmentationConfig,
    SegmentationDataConfig,
    SegmentationModelConfig,
    SegmentationSampleConfig,
    SegmentationTrainingConfig,
)
from stainless.config.sweep import SWEEP_PATHS, SweepConfig
from stainless.config.translation import (
    DataConfig,
    ModelConfig,
    SampleConfig,
    TrainingConfig,
    TranslationConfig,
)

__all__ = [
    "MODALITIES",
    "SWEEP_PATHS",
    "TRAINING_PATHS",
    "AugmentConfig",
    "DataConfig",
    "Modality",
    "ModelConfig",
    "Percentiles",
    "PostprocessConfig",
    "Region",
    "RunSettings",
    "SampleBase",
    "SampleConfig",
    "SegmentationConfig",
    "SegmentationDataConfig",
    "SegmentationModelConfig",
    "SegmentationSampleConfig",
    "SegmentationTrainingConfig",
    "Strict",
    "SweepConfig",
    "TrainingConfig",
    "TranslationConfig",
    "apply_overrides",
    "check_files_exist",
    "dump_config",
    "fine_tuning",
    "format_validation_error",
    "load_segmentation_config",
    "load_translation_config",
    "read_config",
    "resolve_paths",
]
