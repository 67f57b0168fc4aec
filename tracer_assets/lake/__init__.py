from tracer_assets.lake.fs import LakeConfigError
from tracer_assets.lake.store import Lake, LakeError, LakePath, LakeSchemaError, new_id

__all__ = ["Lake", "LakeConfigError", "LakeError", "LakePath", "LakeSchemaError", "new_id"]
