# Root conftest: fixtures every package's tests may use. The servers start
# lazily, only when a test asks for them, and stop at the end of the session.
pytest_plugins = ["testsupport.postgres_server", "testsupport.redis_server"]
