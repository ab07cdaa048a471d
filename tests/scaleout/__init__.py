"""The scale-out stack on loopback: collectors, Thanos and two Alertmanagers."""
