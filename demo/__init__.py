"""The demo data generator, the top layer: it may import every app, and no app imports it.

``names`` (places and people's names), ``tables`` (weighted distributions), ``people`` (families and member
rows), ``standard`` (exited files that meet the exit standard; the deliberate return candidates), ``generator``
(``generate``, ``DemoGenerator``), ``writers`` (``bulk_create`` / ``COPY`` with history), ``decisions`` (the
``registered`` and ``exited`` decisions of the migrated register), ``reset`` (empty and check the registry),
``logins`` (the demo users, real people, and their roles), ``procedures`` (the demo village's applications through
the real services; the daily alerts), ``setup`` (assessments, applications and alerts after the generation); the
operator's commands ``generate_demo_data``, ``bench_import`` and ``bench_eligibility`` in ``management/commands``.
"""
