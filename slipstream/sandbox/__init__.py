"""The sandbox: the whole control plane on one machine (moto's server, the Chalice app, worker threads)."""
