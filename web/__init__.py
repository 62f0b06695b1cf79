"""HTTP: routers, request logging, the exception handler and the app factory."""
