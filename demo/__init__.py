"""The demo data generator, the top layer: it may import every app, and no app imports it.

``names`` (places and people's names), ``tables`` (weighted distributions), ``people`` (families and member
rows), ``generator`` (``generate``, ``DemoGenerator``), ``writers`` (``bulk_create`` / ``COPY`` with history),
``reset`` (empty and check the registry), ``logins`` (the demo users and their roles); the operator's commands
``generate_demo_data`` and ``bench_import`` in ``management/commands``.
"""
