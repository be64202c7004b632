"""Measuring the daemon: stage timings, memory samples, Prometheus instruments and stats windows."""
