"""The co-design loop: train through the calibrated proxy, verify in SPICE, re-fit the proxy on
the new traces, repeat; then seeds, robustness, energy and latency against digital baselines.

``pipeline.run_loop(LoopSettings(...), out, simulator, log)`` runs it; ``profiles`` holds the
per-task defaults; ``codesign report`` renders what a run wrote.
"""
