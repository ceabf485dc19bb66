"""The asyncio face of atelier_messaging (aio-pika): the same guarantees and rules
(``atelier_messaging.rules``) as the blocking face, for processes that run an event loop."""
