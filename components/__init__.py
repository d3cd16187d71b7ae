"""Pulumi components that deploy CockroachDB for OpenAlgo."""
