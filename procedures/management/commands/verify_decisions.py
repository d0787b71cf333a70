"""``manage.py verify_decisions [--county CODE]``: recompute the decision log's hash chains (DOMAIN.md §5).

Exits 0 when every chain is intact; otherwise prints, for each broken county chain, the first decision whose
sequence, link or content no longer matches, and exits 1.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from procedures.decisions import verify_chain


class Command(BaseCommand):
    help = "校验决定记录的哈希链：完整时退出码为0，否则列出每个县第一条不符的决定记录并以1退出。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--county", help="只校验这个县（6位县级代码）")

    def handle(self, *args, county: str | None = None, **options) -> None:
        report = verify_chain(county_code=county)
        for broken in report.breaks:
            self.stderr.write(
                f"县{broken.county}：决定记录 #{broken.decision_id}（县内序号{broken.sequence}）{broken.reason}"
            )
        if report.breaks:
            raise SystemExit(1)
        self.stdout.write(f"已校验{report.counties}个县的{report.decisions}条决定记录：链完整。")
