"""Benchmarks of ticketdomain (``make bench``)."""
