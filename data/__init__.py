"""Persistence: repositories over PyMySQL and the PNG content stores. All SQL lives here."""
