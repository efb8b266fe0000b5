"""Throwaway PostgreSQL cluster for the tests (filled in with the Postgres saver)."""
