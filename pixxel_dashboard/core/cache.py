"""The Redis cache, as a shortcut only: while Redis is unreachable a read or a lookup misses, and a
write or a delete is skipped (with a warning in the log), so pages that cache (the pre-flight panel)
still answer and people still log in and out (sessions are read from the cache with Redis).

The warnings name the operation, never the key: a session's cache key holds its session id."""

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
            logger.warning("cache: Redis unreachable, a read is a miss (%s)", exc)
            return default

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except RedisError as exc:
            logger.warning("cache: Redis unreachable, a lookup is a miss (%s)", exc)
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except RedisError as exc:
            logger.warning("cache: Redis unreachable, a write is skipped (%s)", exc)

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except RedisError as exc:
            logger.warning("cache: Redis unreachable, a delete is skipped (%s)", exc)
            return False
