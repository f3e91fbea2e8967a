"""The asyncio server: event loop, connections, dispatch, reply encoding."""
