"""Import of household-file workbooks (DOMAIN.md §2, issue 7): a dry run that reports every error by sheet, row
and column in Chinese, a copy of the workbook with the faulty cells marked, and an all-or-nothing commit.

The package, bottom to top (import each name from the module that owns it; nothing is re-exported here):

- ``read``: the sheets' header rows and data rows, on top of ``households.xlsx_reader``; the error list.
- ``validate``: every check of the rows, and the plan of what a commit would write.
- ``write``: the plan's bulk writes with their history rows (COPY on PostgreSQL, the ORM elsewhere).
- ``annotate``: the copy of the workbook with the faulty cells filled red and commented.
- ``runner``: one workbook through validate and write (``import_workbook``), one job with its report
  (``run_job``, run by ``households.tasks``).
- ``services``: the job services behind the API and the admin: ``check_upload``, ``import_job_create``,
  ``import_job_commit`` (they dispatch ``households.tasks.run_import``).
"""
