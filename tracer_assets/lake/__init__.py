from tracer_assets.lake.store import Lake, LakeSchemaError, new_id

__all__ = ["Lake", "LakeSchemaError", "new_id"]
