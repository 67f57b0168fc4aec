"""The universe digest: ranking, chat text without digits, artifact with every number, splitter."""

from tracer_assets.digest.build import DIGEST_COLUMNS, Digest, build_digest
from tracer_assets.digest.split import split_message

__all__ = ["DIGEST_COLUMNS", "Digest", "build_digest", "split_message"]
