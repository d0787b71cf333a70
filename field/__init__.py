"""The field pages (驻村工作页面): phone-first, server-rendered pages for first secretaries, work teams and helpers.

The top layer: it reads every app below it and decides nothing; see ``field/views.py``.
"""
