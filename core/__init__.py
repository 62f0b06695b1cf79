"""Domain models, settings and exceptions shared by every layer."""
