"""Serializers that turn checkpoint values into typed bytes and back."""
