"""Versioned SQL migrations for CockroachDB, usable with or without Pulumi."""
