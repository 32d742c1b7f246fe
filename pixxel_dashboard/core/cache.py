"""The Redis cache, as a shortcut only: while Redis is unreachable a read misses and a write is
skipped (with a warning in the log), so pages that cache (the pre-flight panel) still answer."""

import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class ForgivingRedisCache(RedisCache):
    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except RedisError as exc:
            logger.warning("cache: Redis unreachable, reading %s as a miss (%s)", key, exc)
            return default

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except RedisError as exc:
            logger.warning("cache: Redis unreachable, not keeping %s (%s)", key, exc)
