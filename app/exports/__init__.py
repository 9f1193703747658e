"""Every file the app writes for people to open goes through one writer per format:
`xlsx.Book` for workbooks, `docx` for Word documents. Each export only says what its
columns (or sections) are; the writer owns the layout — header, frozen panes, print
setup, number formats — and the safety rules every cell and paragraph follows:

- text that starts like a formula (`=`, `+`, `-`, `@`, tab, carriage return) is written
  as text, never as a formula (formula injection, OWASP "CSV injection");
- characters an XML file cannot hold are replaced (U+FFFD) in the file; the stored
  text stays as the user typed it (app.textclean.for_file).
"""
