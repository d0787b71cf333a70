"""Template tags of the household app: ``history_display`` (the readable change history of every admin page)."""
