"""Every file the app writes for people to open goes through one writer per format:
`xlsx.Book` for workbooks, `docx` for Word documents. Each export only says what its
columns (or sections) are; the writer owns the layout — the title row (what, which unit,
which period, 截至 the day), header, frozen panes, print setup (landscape A4, one page
wide, the header on every page), number formats, row heights, a Word table's column
widths, pictures — and the safety rules every cell and paragraph follows:

- text that starts like a formula (`=`, `+`, `-`, `@`, tab, carriage return) is written
  as text, never as a formula (formula injection, OWASP "CSV injection");
- characters an XML file cannot hold are replaced (U+FFFD) in the file; the stored
  text stays as the user typed it (app.textclean.for_file).
"""
