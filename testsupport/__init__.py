"""Test-only helpers shared by every package's tests: throwaway servers."""
