"""Throwaway Redis server for the tests (filled in with the Redis cache)."""
