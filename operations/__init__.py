"""Day-2 operator commands for the CockroachDB cluster, usable without Pulumi.

``python -m operations status`` summarises node liveness, range health, replication and
storage; ``python -m operations certs`` reports days to expiry of the cluster's certificates;
``python -m operations decommission`` moves the replicas off pods before a scale-down.
"""
