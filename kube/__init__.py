"""Kubernetes helpers the dynamic providers use at deploy time: reading pods and jobs through the
API server, waiting on them, and the port-forward that carries SQL from outside the cluster."""
