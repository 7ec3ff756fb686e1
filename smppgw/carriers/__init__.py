"""Simulated upstream carriers: pure behaviour profiles (`model`) and their clock-driven links (`link`)."""
