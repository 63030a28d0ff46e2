"""Scheduling: work orders to machine plans (dispatch rules, CP-SAT, batching, replanning, exports)."""
