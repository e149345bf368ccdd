"""Alerts: rules over stored comments, an outbox of deliveries, channels that send them."""
