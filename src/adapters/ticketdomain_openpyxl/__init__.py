"""Distribution sheets and reports as .xlsx workbooks, with openpyxl."""
