"""``make bench``: PixyProxy measured against its own pipeline and a static file server."""
