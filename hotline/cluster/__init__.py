"""Several Hotline nodes on one PostgreSQL and one broker (docs/scale.md).

``lease`` is the pure core of leadership (acquire, renew, lose; a fencing epoch that only grows),
``pg_lease`` its shell on PostgreSQL, ``fenced`` the switch that refuses to act without a live
lease, ``codec`` and ``redis_bus`` carry the bus's domain events between nodes over Redis Streams,
``node`` wires them into the composition root. The domain packages (cti/, acd/, crm/, ...) never
import this package: it wraps what they expose.
"""
