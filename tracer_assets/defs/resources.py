"""The one Dagster resource: settings, the lake, the universe and the selected providers."""

from functools import cached_property

import dagster as dg
from pydantic import PrivateAttr, ValidationError

from tracer_assets.lake import Lake
from tracer_assets.lake.fs import LakeConfigError
from tracer_assets.lake.store import LakeRootError
from tracer_assets.settings import TracerSettings, settings_error_line
from tracer_assets.universe import Universe, UniverseError, load_universe


def config_failure(message: str) -> dg.Failure:
    """A configuration error: it will not heal on retry, so the RetryPolicy must not retry it."""
    return dg.Failure(description=message, allow_retries=False)


class TracerResource(dg.ConfigurableResource):
    """Reads ``TracerSettings`` from the environment; ``lake_root`` overrides it (tests, replay)."""

    lake_root: str | None = None
    _cache: dict = PrivateAttr(default_factory=dict)

    @cached_property
    def settings(self) -> TracerSettings:
        overrides = {"lake_root": self.lake_root} if self.lake_root else {}
        try:
            return TracerSettings(**overrides)
        except ValidationError as exc:
            raise config_failure(settings_error_line(exc)) from None

    @cached_property
    def lake(self) -> Lake:
        try:
            lake = Lake(self.settings.lake.lake_root).check_root(writable=True)
        except (LakeConfigError, LakeRootError) as exc:
            raise config_failure(str(exc)) from None
        # on start: a writer killed mid-write left its temp file; live writers' files are kept
        lake.sweep_temp_files(self.settings.ops.ops_temp_file_max_age_seconds)
        return lake

    @cached_property
    def universe(self) -> Universe:
        try:
            return load_universe(self.settings.market.universe)
        except UniverseError as exc:
            raise config_failure(str(exc)) from None

    def _provider(self, kind: str):
        if kind not in self._cache:
            from tracer_assets.providers import registry
            from tracer_assets.providers.resilience import ProviderConfigError

            build = getattr(registry, f"build_{kind}")
            try:
                self._cache[kind] = build(self.settings, self.settings.lake.lake_root)
            except (ProviderConfigError, UniverseError) as exc:
                raise config_failure(str(exc)) from None
        return self._cache[kind]

    def bars_provider(self):
        return self._provider("bars_provider")

    def news_provider(self):
        return self._provider("news_provider")

    def markets_provider(self):
        return self._provider("markets_provider")

    def notifier(self):
        return self._provider("notifier")
