"""The product's settings with the benchmark's URLconf (bench/baselines.py only, never deployed)."""

from pixxel_dashboard.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
