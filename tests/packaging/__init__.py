"""Tests of the built distributions, installed into fresh virtual environments."""
