"""Sessions read from the shared cache (Redis), written through to the database: Django's
`cached_db`, except that a cached copy lives CACHED_SECONDS at most.

A logout while Redis is unreachable deletes the session's row but cannot delete its cached copy;
uncapped, that copy would sign the browser in again for the rest of the session's two weeks once
Redis is back. Capped, it is gone within minutes, and the logout itself still succeeds.
"""

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import caches

CACHED_SECONDS = 300


class _CappedCache:
    """The session cache, with every copy's life capped (an unreachable Redis is forgiven below
    it, by core/cache.py's ForgivingRedisCache)."""

    def __init__(self, cache):
        self._cache = cache

    def set(self, key, value, timeout=None, version=None):
        capped = CACHED_SECONDS if timeout is None else min(timeout, CACHED_SECONDS)
        return self._cache.set(key, value, capped, version)

    async def aset(self, key, value, timeout=None, version=None):
        capped = CACHED_SECONDS if timeout is None else min(timeout, CACHED_SECONDS)
        return await self._cache.aset(key, value, capped, version)

    def __contains__(self, key):
        return key in self._cache

    def __getattr__(self, name):
        return getattr(self._cache, name)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = _CappedCache(caches[settings.SESSION_CACHE_ALIAS])
