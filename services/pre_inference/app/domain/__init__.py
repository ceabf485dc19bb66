"""Job rules as pure functions: no I/O, no framework; the routers and consumers call them."""
