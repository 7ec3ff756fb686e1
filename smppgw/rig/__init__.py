"""The carrier-integration test rig: scripted fault timelines, per-bind protocol faults and
receipt shapes, hooked into the gateway through small call sites."""
