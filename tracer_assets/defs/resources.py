"""The one Dagster resource: settings, the lake, the universe and the selected providers."""

from functools import cached_property

import dagster as dg
from pydantic import PrivateAttr

from tracer_assets.lake import Lake
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Universe, load_universe


class TracerResource(dg.ConfigurableResource):
    """Reads ``TracerSettings`` from the environment; ``lake_root`` overrides it (tests, replay)."""

    lake_root: str | None = None
    _cache: dict = PrivateAttr(default_factory=dict)

    @cached_property
    def settings(self) -> TracerSettings:
        overrides = {"lake_root": self.lake_root} if self.lake_root else {}
        return TracerSettings(**overrides)

    @cached_property
    def lake(self) -> Lake:
        lake = Lake(self.settings.lake_root)
        # on start: a writer killed mid-write left its temp file; live writers' files are kept
        lake.sweep_temp_files(self.settings.ops.ops_temp_file_max_age_seconds)
        return lake

    @cached_property
    def universe(self) -> Universe:
        return load_universe(self.settings.universe)

    def _provider(self, kind: str):
        if kind not in self._cache:
            from tracer_assets.providers import registry
            from tracer_assets.providers.resilience import ProviderConfigError

            build = getattr(registry, f"build_{kind}")
            try:
                self._cache[kind] = build(self.settings, self.settings.lake_root)
            except ProviderConfigError as exc:
                # a missing key will not appear on retry: fail at once with the message naming it
                raise dg.Failure(description=str(exc), allow_retries=False) from exc
        return self._cache[kind]

    def bars_provider(self):
        return self._provider("bars_provider")

    def news_provider(self):
        return self._provider("news_provider")

    def markets_provider(self):
        return self._provider("markets_provider")

    def notifier(self):
        return self._provider("notifier")
