"""Address books in and out: vCard (RFC 2426, RFC 6350) and CSV import and export.

- `records.py`: `ReadRecord`, one card or CSV row as a reader found it, and the one mapping from
  it to a contact's stored fields (`contact_fields`), which leaves out what breaks a rule and
  names it in `dropped`.
- `decoding.py`: bytes to text (BOMs, UTF-8, UTF-16, legacy charsets).
- `vcard_reader.py` / `csv_reader.py`: files to `ReadRecord`s (vobject; the csv module).
- `vcard_writer.py` / `csv_writer.py`: contacts to vCard 4.0 or 3.0 / Google Contacts' CSV.
- `service.py`: the import (duplicates, one transaction, the report) and the streamed export.
- `controller.py`: `POST /api/contacts/import`, `GET /api/contacts/export`.
"""
